"""The OpenAPI document describes the API as it behaves, and /docs renders it offline."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from services.errors import ALL_ERRORS
from tests.conftest import Stack

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


async def spec(stack: Stack) -> dict[str, Any]:
    response = await stack.http.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_the_document_is_valid_openapi(stack: Stack) -> None:
    validate(await spec(stack))


async def test_every_route_is_described(stack: Stack) -> None:
    document = await spec(stack)
    described = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert described == ROUTES


async def test_authentication_headers_and_errors_are_documented(stack: Stack) -> None:
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
    stack: Stack,
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


async def test_docs_render_from_local_assets(stack: Stack) -> None:
    page = await stack.http.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "cdn." not in page.text
    script = await stack.http.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    errors_page = await stack.http.get("/docs/errors")
    assert all(f'id="{e.code}"' in errors_page.text for e in ALL_ERRORS)
