"""The OpenAPI document describes the API as it behaves, and /docs renders it offline."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from services.errors import ALL_ERRORS
from tests.utils.inprocess import ApiStack
from tests.utils.openapi import OPERATION_IDS

ROUTES = {
    ("post", "/v1/posts/generations"),
    ("get", "/v1/jobs/{job_id}"),
    ("get", "/v1/jobs"),
    ("post", "/v1/jobs/{job_id}/cancel"),
    ("get", "/v1/posts/{post_id}"),
    ("get", "/v1/posts"),
    ("get", "/v1/projects"),
    ("get", "/v1/projects/{project_id}"),
    ("get", "/v1/workspaces/me"),
    ("get", "/v1/health"),
    ("post", "/v1/webhook-endpoints"),
    ("get", "/v1/webhook-endpoints"),
    ("get", "/v1/webhook-endpoints/{endpoint_id}"),
    ("patch", "/v1/webhook-endpoints/{endpoint_id}"),
    ("delete", "/v1/webhook-endpoints/{endpoint_id}"),
    ("post", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
    ("get", "/v1/webhook-endpoints/{endpoint_id}/deliveries"),
    ("post", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"),
}


async def spec(stack: ApiStack) -> dict[str, Any]:
    response = await stack.http.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_the_document_is_valid_openapi(stack: ApiStack) -> None:
    validate(await spec(stack))


async def test_every_route_is_described(stack: ApiStack) -> None:
    document = await spec(stack)
    described = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert described == ROUTES


async def test_authentication_headers_and_errors_are_documented(stack: ApiStack) -> None:
    document = await spec(stack)
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    documented_codes: set[str] = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path != "/v1/health":
                assert operation["security"] == [{"ApiKey": []}], (method, path)
                assert "401" in operation["responses"] and "429" in operation["responses"]
                parameters = {p["name"] for p in operation.get("parameters", [])}
                assert "Scripe-Api-Version" in parameters
                headers = operation["responses"]["200"]["headers"]
                assert {"X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining"} <= set(
                    headers
                )
            for status, response in operation["responses"].items():
                # Health answers 503 with its own body (status "degraded"), not an error.
                if status.startswith(("4", "5")) and path != "/v1/health":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorEnvelope")
                    documented_codes.update(
                        c.strip("`") for c in response["description"].split(": ")[1].split(", ")
                    )
    expected = {e.code for e in ALL_ERRORS} - {"method_not_allowed", "internal_error"}
    assert expected <= documented_codes


async def test_the_generation_route_documents_its_body_and_both_success_statuses(
    stack: ApiStack,
) -> None:
    document = await spec(stack)
    operation = document["paths"]["/v1/posts/generations"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert {"projectId", "source", "scheduledFor", "options", "wait_for_completion_ms"} <= set(
        schema["properties"]
    )
    assert schema["required"] == ["projectId", "source"]
    assert schema["additionalProperties"] is False and schema["examples"]
    assert {"200", "202", "402", "409", "413", "422"} <= set(operation["responses"])
    assert "Idempotent-Replayed" in operation["responses"]["202"]["headers"]
    assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}


async def test_docs_render_from_local_assets(stack: ApiStack) -> None:
    page = await stack.http.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "cdn." not in page.text
    script = await stack.http.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    errors_page = await stack.http.get("/docs/errors")
    assert all(f'id="{e.code}"' in errors_page.text for e in ALL_ERRORS)


# --- exactness: what a generated client relies on ------------------------------------------


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m, p): op for p, ops in document["paths"].items() for m, op in ops.items()}


async def test_operation_ids_are_stable_names(stack: ApiStack) -> None:
    operations = _operations(await spec(stack))
    assert {key: op["operationId"] for key, op in operations.items()} == OPERATION_IDS


async def test_info_version_is_a_package_version_and_the_api_version_an_extension(
    stack: ApiStack,
) -> None:
    from packaging.version import Version

    info = (await spec(stack))["info"]
    assert str(Version(info["version"])) == info["version"]  # PEP 440, no dashes
    assert info["x-scripe-api-version"] == "2026-08-01"


async def test_query_parameters_are_typed_and_required_as_enforced(stack: ApiStack) -> None:
    operations = _operations(await spec(stack))
    for key in (("get", "/v1/jobs"), ("get", "/v1/posts"), ("get", "/v1/projects")):
        parameters = {p["name"]: p for p in operations[key]["parameters"]}
        assert parameters["limit"]["schema"]["type"] == "integer", key
    posts = {p["name"]: p for p in operations[("get", "/v1/posts")]["parameters"]}
    assert posts["projectId"]["required"] is True
    response = await stack.http.get("/v1/posts", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401  # the guard chain first; without projectId, 400
    jobs = {p["name"]: p for p in operations[("get", "/v1/jobs")]["parameters"]}
    assert jobs["dateFrom"]["schema"]["format"] == "date-time"
    generation = operations[("post", "/v1/posts/generations")]
    key = next(p for p in generation["parameters"] if p["name"] == "Idempotency-Key")
    assert key["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"


async def test_closed_sets_are_enums_and_timestamps_are_date_times(stack: ApiStack) -> None:
    from contracts import JOB_ERROR_MESSAGES

    schemas = (await spec(stack))["components"]["schemas"]
    job = schemas["JobPublic"]["properties"]
    assert job["status"]["enum"] == ["QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED"]
    (codes,) = [s for s in job["errorCode"]["anyOf"] if s.get("type") == "string"]
    assert codes["enum"] == list(JOB_ERROR_MESSAGES)
    assert job["createdAt"]["format"] == "date-time"
    assert {"type": "string", "format": "date-time"} in job["completedAt"]["anyOf"]
    assert set(schemas["ErrorBody"]["properties"]["code"]["enum"]) == {e.code for e in ALL_ERRORS}
    assert schemas["PostPublic"]["properties"]["status"]["enum"]
    assert "actualUsd" in schemas["JobCost"]["required"]


async def test_every_response_documents_the_headers_it_carries(stack: ApiStack) -> None:
    for (method, path), operation in _operations(await spec(stack)).items():
        for status, response in operation["responses"].items():
            headers = set(response.get("headers", {}))
            assert {"X-Request-Id", "Scripe-Api-Version"} <= headers, (method, path, status)
            if status in ("429", "503"):
                assert "Retry-After" in headers, (method, path, status)
            if path != "/v1/health" and status != "401":
                assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= (
                    headers
                ), (method, path, status)
            if status == "401":
                assert "WWW-Authenticate" in headers


def _examples(node: Any, where: str = "") -> list[tuple[str, Any, dict[str, Any]]]:
    """Every (location, example, schema) in the document."""
    found: list[tuple[str, Any, dict[str, Any]]] = []
    if isinstance(node, dict):
        if "schema" in node and "example" in node:
            found.append((where, node["example"], node["schema"]))
        for example in node.get("examples", []) if isinstance(node.get("examples"), list) else []:
            found.append((where, example, {k: v for k, v in node.items() if k != "examples"}))
        for key, value in node.items():
            found += _examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _examples(value, f"{where}/{i}")
    return found


async def test_every_example_validates_against_its_schema(stack: ApiStack) -> None:
    from jsonschema import Draft202012Validator

    document = await spec(stack)
    examples = _examples(document["components"]) + _examples(document["paths"])
    assert len(examples) >= 5
    for where, example, schema in examples:
        root = {**schema, "components": document["components"]}
        validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = [e.message for e in validator.iter_errors(example)]
        assert not errors, (where, errors)
