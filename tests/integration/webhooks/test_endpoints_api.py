"""Webhook endpoints over HTTP: CRUD, scoping by workspace and mode, bad input, idempotency,
secret rotation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devtools.tenants import Tenant
from domain.webhooks import MAX_ENDPOINTS_PER_WORKSPACE
from tests.utils.envelope import assert_envelope
from tests.utils.stack import Stack
from tests.utils.webhooks import ALL_EVENTS, Receiver, create_endpoint

PATH = "/v1/webhook-endpoints"


async def list_ids(stack: Stack, tenant: Tenant, mode: str = "test") -> list[str]:
    response = await stack.http.get(PATH, headers=tenant.headers(mode))  # type: ignore[arg-type]
    assert response.status_code == 200
    return [e["id"] for e in response.json()["data"]]


async def test_register_read_change_and_delete_an_endpoint(
    stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    created = await create_endpoint(
        stack, tenant, receiver, "crud", events=["job.completed"], description="CRM sync"
    )
    assert created["id"].startswith("whe_") and created["secret"].startswith("whsec_")
    assert created["enabled"] is True and created["events"] == ["job.completed"]

    read = (await stack.http.get(f"{PATH}/{created['id']}", headers=tenant.headers())).json()
    assert "secret" not in read["data"]  # shown once, at creation
    assert read["data"]["description"] == "CRM sync"
    assert await list_ids(stack, tenant) == [created["id"]]

    patched = await stack.http.patch(
        f"{PATH}/{created['id']}",
        json={"events": ["job.failed", "post.created"], "enabled": False},
        headers=tenant.headers(),
    )
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert data["events"] == ["job.failed", "post.created"] and data["enabled"] is False
    assert data["disabledReason"]
    enabled = await stack.http.patch(
        f"{PATH}/{created['id']}", json={"enabled": True}, headers=tenant.headers()
    )
    assert enabled.json()["data"]["disabledReason"] is None

    deleted = await stack.http.delete(f"{PATH}/{created['id']}", headers=tenant.headers())
    assert deleted.status_code == 204
    gone = await stack.http.get(f"{PATH}/{created['id']}", headers=tenant.headers())
    assert_envelope(gone, 404, "not_found")
    assert await list_ids(stack, tenant) == []


async def test_endpoints_are_scoped_to_workspace_and_mode(
    stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    live = await create_endpoint(stack, tenant, receiver, "scoped", mode="live")
    other = await stack.tenant()
    assert await list_ids(stack, tenant, "test") == []
    assert await list_ids(stack, tenant, "live") == [live["id"]]
    for headers in (tenant.headers("test"), other.headers("live")):
        for method, path in (
            ("GET", f"{PATH}/{live['id']}"),
            ("DELETE", f"{PATH}/{live['id']}"),
            ("POST", f"{PATH}/{live['id']}/rotate-secret"),
            ("GET", f"{PATH}/{live['id']}/deliveries"),
        ):
            response = await stack.http.request(method, path, headers=headers)
            assert_envelope(response, 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://hooks.example.com/x", "events": ALL_EVENTS}, "url"),
        ({"url": "https://127.0.0.1/x", "events": ALL_EVENTS}, "url"),
        ({"url": "https://localhost:8443/x", "events": ALL_EVENTS}, "url"),
        ({"url": "https://[::1]/x", "events": ALL_EVENTS}, "url"),
        ({"url": "https://10.1.2.3/x", "events": ALL_EVENTS}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x", "events": ALL_EVENTS}, "url"),
        ({"url": "not a url", "events": ALL_EVENTS}, "url"),
        ({"url": "https://hooks.example.com/x", "events": ["job.exploded"]}, "events.0"),
        ({"url": "https://hooks.example.com/x", "events": []}, "events"),
        ({"url": "https://hooks.example.com/x"}, "events"),
        ({"events": ALL_EVENTS}, "url"),
        ({"url": "https://hooks.example.com/x", "events": ALL_EVENTS, "secret": "x"}, "secret"),
    ],
)
async def test_bad_input_is_400_naming_the_field_and_creates_nothing(
    stack: Stack, strict_http: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await strict_http.post(PATH, json=body, headers=tenant.headers())
    error = assert_envelope(response, 400, "invalid_request")
    assert error["details"]["field"] == field
    assert await list_ids(stack, tenant) == []


async def test_a_public_https_url_is_accepted_by_the_strict_api(
    strict_http: httpx.AsyncClient, tenant: Tenant
) -> None:
    # A documentation address (TEST-NET-3 is not global, so use a public literal instead).
    response = await strict_http.post(
        PATH, json={"url": "https://8.8.8.8/hooks", "events": ALL_EVENTS}, headers=tenant.headers()
    )
    assert response.status_code == 201, response.text


async def test_patch_checks_the_new_url_and_rejects_nulls(
    stack: Stack, strict_http: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await strict_http.post(
        PATH, json={"url": "https://8.8.8.8/hooks", "events": ALL_EVENTS}, headers=tenant.headers()
    )
    endpoint_id = created.json()["data"]["id"]
    for body, field in (
        ({"url": "https://192.168.0.10/x"}, "url"),
        ({"events": None}, "events"),
        ({"enabled": "yes"}, "enabled"),
    ):
        response = await strict_http.patch(
            f"{PATH}/{endpoint_id}", json=body, headers=tenant.headers()
        )
        assert assert_envelope(response, 400, "invalid_request")["details"]["field"] == field
    read = await stack.http.get(f"{PATH}/{endpoint_id}", headers=tenant.headers())
    assert read.json()["data"]["url"] == "https://8.8.8.8/hooks"


async def test_at_most_twenty_endpoints_per_workspace_and_mode(
    stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    for i in range(MAX_ENDPOINTS_PER_WORKSPACE):
        await create_endpoint(stack, tenant, receiver, f"many-{i}")
    response = await stack.http.post(
        PATH,
        json={"url": receiver.url("one-too-many"), "events": ALL_EVENTS},
        headers=tenant.headers(),
    )
    error = assert_envelope(response, 422, "unprocessable")
    assert error["details"]["field"] == "url"
    assert error["details"]["limit"] == MAX_ENDPOINTS_PER_WORKSPACE
    listed = await stack.http.get(f"{PATH}?limit=200", headers=tenant.headers())
    assert len(listed.json()["data"]) == MAX_ENDPOINTS_PER_WORKSPACE
    # The other mode has its own allowance.
    await create_endpoint(stack, tenant, receiver, "live-one", mode="live")


async def test_the_list_pages_with_signed_cursors(
    stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    ids = [(await create_endpoint(stack, tenant, receiver, f"page-{i}"))["id"] for i in range(3)]
    first = (await stack.http.get(f"{PATH}?limit=2", headers=tenant.headers())).json()
    assert first["pagination"]["has_more"] is True
    cursor = first["pagination"]["next_cursor"]
    second = (
        await stack.http.get(f"{PATH}?limit=2&cursor={cursor}", headers=tenant.headers())
    ).json()
    seen = [e["id"] for e in first["data"] + second["data"]]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 3
    foreign = await stack.http.get(f"{PATH}?cursor={cursor}", headers=tenant.headers("live"))
    assert_envelope(foreign, 400, "bad_cursor")


async def test_create_is_idempotent_with_a_key(
    stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    body = {"url": receiver.url("idem"), "events": ["job.completed"]}
    headers = tenant.headers(**{"Idempotency-Key": "create-hook-1"})
    first = await stack.http.post(PATH, json=body, headers=headers)
    again = await stack.http.post(PATH, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.headers["idempotent-replayed"] == "false"
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"] == first.json()["data"]  # the same endpoint and secret
    conflict = await stack.http.post(PATH, json={**body, "events": ["job.failed"]}, headers=headers)
    assert_envelope(conflict, 409, "idempotency_key_conflict")
    assert await list_ids(stack, tenant) == [first.json()["data"]["id"]]


async def test_rotating_the_secret_returns_a_new_one_once(
    stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    created = await create_endpoint(stack, tenant, receiver, "rotate")
    rotated = await stack.http.post(
        f"{PATH}/{created['id']}/rotate-secret", headers=tenant.headers()
    )
    assert rotated.status_code == 200
    secret = rotated.json()["data"]["secret"]
    assert secret.startswith("whsec_") and secret != created["secret"]
    read = await stack.http.get(f"{PATH}/{created['id']}", headers=tenant.headers())
    assert "secret" not in read.json()["data"]


async def test_the_routes_are_in_the_openapi_document(stack: Stack) -> None:
    document = (await stack.http.get("/openapi.json")).json()
    paths = document["paths"]
    assert set(paths[PATH]) == {"get", "post"}
    assert set(paths[PATH + "/{endpoint_id}"]) == {"get", "patch", "delete"}
    assert "post" in paths[PATH + "/{endpoint_id}/rotate-secret"]
    assert "get" in paths[PATH + "/{endpoint_id}/deliveries"]
    assert "post" in paths[PATH + "/{endpoint_id}/deliveries/{delivery_id}/retry"]
    schemas = document["components"]["schemas"]
    assert {"WebhookEndpointCreate", "WebhookEndpointUpdate"} <= set(schemas)
