"""Cross-cutting rules (docs/api.md): request ids, versions, and the error envelope everywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.tenants import Tenant, generation_body
from tests.utils.envelope import REQUEST_ID, assert_envelope
from tests.utils.inprocess import ApiStack


async def test_every_response_has_a_fresh_request_id(stack: ApiStack, tenant: Tenant) -> None:
    ids = set()
    for method, path in (
        ("GET", "/v1/health"),
        ("GET", "/v1/workspaces/me"),
        ("GET", "/nope"),
        ("DELETE", "/v1/jobs"),
    ):
        response = await stack.http.request(method, path, headers=tenant.headers())
        assert REQUEST_ID.match(response.headers["x-request-id"])
        ids.add(response.headers["x-request-id"])
    assert len(ids) == 4


async def test_version_defaults_and_is_echoed(stack: ApiStack, tenant: Tenant) -> None:
    response = await stack.http.get("/v1/workspaces/me", headers=tenant.headers())
    assert response.headers["scripe-api-version"] == "2026-08-01"
    explicit = await stack.http.get(
        "/v1/workspaces/me", headers=tenant.headers(**{"Scripe-Api-Version": "2026-08-01"})
    )
    assert explicit.status_code == 200
    assert explicit.headers["scripe-api-version"] == "2026-08-01"


@pytest.mark.parametrize("version", ["2025-01-01", "2026-8-1", "latest", "2026-08-01x", ""])
async def test_unknown_or_malformed_versions_are_refused(
    stack: ApiStack, tenant: Tenant, version: str
) -> None:
    response = await stack.http.get(
        "/v1/workspaces/me", headers=tenant.headers(**{"Scripe-Api-Version": version})
    )
    error = assert_envelope(response, 400, "version_unsupported")
    assert error["details"]["accepted"] == ["2026-08-01"]


async def test_auth_is_checked_before_the_version(stack: ApiStack) -> None:
    response = await stack.http.get(
        "/v1/workspaces/me", headers={"Scripe-Api-Version": "1999-01-01"}
    )
    assert_envelope(response, 401, "invalid_token")


async def test_unknown_routes_and_wrong_methods(stack: ApiStack, tenant: Tenant) -> None:
    assert_envelope(await stack.http.get("/v1/nothing-here"), 404, "not_found")
    assert_envelope(await stack.http.get("/"), 404, "not_found")
    wrong = await stack.http.put("/v1/posts/generations", headers=tenant.headers())
    assert_envelope(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["allow"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b'{"a": 1', "application/json"),
        ("[" * 5000 + "]" * 5000, "application/json"),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
async def test_malformed_json_is_invalid_request(
    stack: ApiStack, tenant: Tenant, content: bytes | str, content_type: str
) -> None:
    response = await stack.http.post(
        "/v1/posts/generations",
        content=content,
        headers=tenant.headers(**{"Content-Type": content_type}),
    )
    error = assert_envelope(response, 400, "invalid_request")
    assert error["details"]["field"] == "body"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_wrong_content_type_is_invalid_request(
    stack: ApiStack, tenant: Tenant, content_type: str
) -> None:
    response = await stack.http.post(
        "/v1/posts/generations",
        content=json.dumps(generation_body(tenant)),
        headers=tenant.headers(**{"Content-Type": content_type}),
    )
    error = assert_envelope(response, 400, "invalid_request")
    assert error["details"]["field"] == "body"


async def test_oversized_bodies_are_413_declared_or_streamed(
    stack: ApiStack, tenant: Tenant
) -> None:
    big = json.dumps(generation_body(tenant, source={"text": "x" * 300_000}))
    declared = await stack.http.post(
        "/v1/posts/generations",
        content=big,
        headers=tenant.headers(**{"Content-Type": "application/json"}),
    )
    assert_envelope(declared, 413, "payload_too_large")

    async def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 10_000

    streamed = await stack.http.post(
        "/v1/posts/generations",
        content=chunks(),
        headers=tenant.headers(**{"Content-Type": "application/json"}),
    )
    assert_envelope(streamed, 413, "payload_too_large")


DROP = object()  # remove the key from the otherwise valid body

BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"projectId": DROP}, "projectId"),
    ({"source": DROP}, "source"),
    ({"projectId": "proj_" + "a" * 200, "source": {"text": "x"}}, "projectId"),
    ({"projectId": 12, "source": {"text": "x"}}, "projectId"),
    ({"source": None}, "source"),
    ({"source": "text"}, "source"),
    ({"source": {}}, "source.text"),
    ({"source": {"text": ""}}, "source.text"),
    ({"source": {"text": "   "}}, "source.text"),
    ({"source": {"text": "x" * 20_001}}, "source.text"),
    ({"source": {"text": 42}}, "source.text"),
    ({"source": {"text": "a\u0000b"}}, "source.text"),
    ({"source": {"text": "ok", "url": "https://example.com"}}, "source.url"),
    ({"source": {"url": "ftp://example.com/x"}}, "source.url"),
    ({"source": {"url": "https://"}}, "source.url"),
    ({"source": {"url": "not a url"}}, "source.url"),
    ({"source": {"text": "ok", "extra": 1}}, "source.extra"),
    ({"scheduledFor": "tomorrow"}, "scheduledFor"),
    ({"scheduledFor": "2030-01-01T10:00:00"}, "scheduledFor"),  # no offset
    ({"scheduledFor": 1893456000}, "scheduledFor"),
    ({"options": {"language": "english!"}}, "options.language"),
    ({"options": {"maxLength": 3001}}, "options.maxLength"),
    ({"options": {"maxLength": "300"}}, "options.maxLength"),
    ({"options": {"includeHashtags": "yes"}}, "options.includeHashtags"),
    ({"options": {"tone": "x" * 201}}, "options.tone"),
    ({"options": {"emoji": True}}, "options.emoji"),
    ({"options": []}, "options"),
    ({"wait_for_completion_ms": -1}, "wait_for_completion_ms"),
    ({"wait_for_completion_ms": 1.5}, "wait_for_completion_ms"),
    ({"wait_for_completion_ms": "100"}, "wait_for_completion_ms"),
    ({"wait_for_completion_ms": True}, "wait_for_completion_ms"),
    ({"unknown": 1}, "unknown"),
]


@pytest.mark.parametrize(("patch", "field"), BAD_BODIES, ids=[f for _, f in BAD_BODIES])
async def test_validation_errors_name_the_field(
    stack: ApiStack, tenant: Tenant, patch: dict[str, Any], field: str
) -> None:
    body = generation_body(tenant)
    body.update(patch)
    body = {k: v for k, v in body.items() if v is not DROP}
    response = await stack.http.post("/v1/posts/generations", json=body, headers=tenant.headers())
    error = assert_envelope(response, 400, "invalid_request")
    assert error["details"]["field"] == field
    assert field in error["message"]


async def test_a_json_body_that_is_not_an_object(stack: ApiStack, tenant: Tenant) -> None:
    bodies: list[object] = [[], "x", 1, None]
    for body in bodies:
        response = await stack.http.post(
            "/v1/posts/generations", json=body, headers=tenant.headers()
        )
        assert_envelope(response, 400, "invalid_request")


async def test_unexpected_errors_are_500_without_internals(
    stack: ApiStack, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.jobs import JobService

    async def explode(*_args: object, **_kwargs: object) -> None:
        raise KeyError("secret_internal_table_name")

    monkeypatch.setattr(JobService, "get", explode)
    response = await stack.http.get("/v1/jobs/job_" + "a" * 26, headers=tenant.headers())
    assert_envelope(response, 500, "internal_error")
    assert "secret_internal" not in response.text and "KeyError" not in response.text
    assert response.headers["scripe-api-version"] == "2026-08-01"
