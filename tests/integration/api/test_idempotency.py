"""Idempotency-Key (docs/api.md): replays, conflicts, concurrency, the 24 h window, refusals."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from contracts import GENERATION_ROUTE
from db.repo import ledger
from db.repo import workspaces as workspaces_repo
from devtools.tenants import Tenant, generation_body
from domain.idempotency import scope as idempotency_scope
from ids import derived_job_id
from tests.utils.envelope import assert_envelope
from tests.utils.jobs import accepted_job
from tests.utils.stack import Stack


async def submit(
    stack: Stack, tenant: Tenant, key: str | None, mode: str = "test", **body: Any
) -> httpx.Response:
    headers = tenant.headers(mode)  # type: ignore[arg-type]
    if key is not None:
        headers["Idempotency-Key"] = key
    return await stack.http.post(
        "/v1/posts/generations", json=generation_body(tenant, **body), headers=headers
    )


async def test_same_key_same_body_is_the_same_job(stack: Stack, tenant: Tenant) -> None:
    first = await submit(stack, tenant, "order-1")
    again = await submit(stack, tenant, "order-1")
    assert first.headers["idempotent-replayed"] == "false"
    assert again.headers["idempotent-replayed"] == "true"
    assert first.json()["data"]["id"] == again.json()["data"]["id"]


async def test_the_job_id_is_derived_from_a_hash_of_the_key_scope(
    stack: Stack, tenant: Tenant
) -> None:
    job = (await submit(stack, tenant, "visible-key-123")).json()["data"]
    scope = idempotency_scope(
        workspace_id=tenant.workspace_id,
        mode="test",
        route=GENERATION_ROUTE,
        key="visible-key-123",
    )
    assert job["id"] == derived_job_id(scope=scope, generation=0)
    assert "visible-key-123" not in job["id"]
    described = await stack.client.get_workflow_handle(job["id"]).describe()
    assert described.id == job["id"]  # the Temporal workflow id is the job id


async def test_a_replay_returns_the_current_state_and_honours_the_wait(
    stack: Stack, tenant: Tenant
) -> None:
    first = accepted_job(await submit(stack, tenant, "current-state"))
    # The wait is a hint about this response, not part of the job: the same job, waited for.
    replay = await submit(stack, tenant, "current-state", wait_for_completion_ms=10_000)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.status_code == 200 and replay.json()["data"]["id"] == first["id"]
    assert replay.json()["data"]["status"] == "DONE"
    waited = await submit(stack, tenant, "waited", wait_for_completion_ms=10_000)
    assert waited.json()["data"]["status"] == "DONE"
    replayed = await submit(stack, tenant, "waited", wait_for_completion_ms=10_000)
    assert replayed.status_code == 200 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["data"] == waited.json()["data"] | {
        "updatedAt": replayed.json()["data"]["updatedAt"],
        "estimatedCompletionMs": None,
    }


async def test_same_key_different_body_is_a_conflict(stack: Stack, tenant: Tenant) -> None:
    await submit(stack, tenant, "conflict-1")
    response = await submit(stack, tenant, "conflict-1", options={"language": "de"})
    assert_envelope(response, 409, "idempotency_key_conflict")


async def test_key_order_and_whitespace_do_not_change_the_fingerprint(
    stack: Stack, tenant: Tenant
) -> None:
    body = generation_body(tenant, options={"language": "en", "includeHashtags": True})
    compact = '{"source":%s,"projectId":"%s","options":{"includeHashtags":true,"language":"en"}}'
    import json

    first = await stack.http.post(
        "/v1/posts/generations",
        content=json.dumps(body, indent=4),
        headers=tenant.headers(**{"Idempotency-Key": "canon", "Content-Type": "application/json"}),
    )
    second = await stack.http.post(
        "/v1/posts/generations",
        content=compact % (json.dumps(body["source"]), tenant.project_id),
        headers=tenant.headers(**{"Idempotency-Key": "canon", "Content-Type": "application/json"}),
    )
    assert second.headers["idempotent-replayed"] == "true"
    assert first.json()["data"]["id"] == second.json()["data"]["id"]


@pytest.mark.parametrize("key", ["", "a" * 65, "has space!", "ünïcode", "semi;colon", "dot.ted"])
async def test_malformed_keys_are_refused_not_ignored(
    stack: Stack, tenant: Tenant, key: str
) -> None:
    """Ignoring a bad key would leave a client that believes it is protected unprotected."""
    headers = [(k.encode(), v.encode()) for k, v in tenant.headers().items()]
    headers.append((b"Idempotency-Key", key.encode()))  # raw bytes: non-ASCII keys too
    before = await stack.http.get("/v1/jobs", params={"limit": 200}, headers=tenant.headers())
    response = await stack.http.post(
        "/v1/posts/generations", json=generation_body(tenant), headers=headers
    )
    error = assert_envelope(response, 400, "invalid_request")
    assert error["details"]["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in error["message"]
    after = await stack.http.get("/v1/jobs", params={"limit": 200}, headers=tenant.headers())
    assert after.json()["data"] == before.json()["data"]  # no job was created


async def test_only_the_wait_differs_is_a_replay_not_a_conflict(
    stack: Stack, tenant: Tenant
) -> None:
    first = await submit(stack, tenant, "wait-hint", wait_for_completion_ms=0)
    again = await submit(stack, tenant, "wait-hint", wait_for_completion_ms=2_000)
    assert again.status_code in (200, 202), again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"]["id"] == first.json()["data"]["id"]


async def test_keys_are_scoped_to_workspace_and_mode(stack: Stack, tenant: Tenant) -> None:
    other = await stack.tenant()
    ids = {
        (await submit(stack, tenant, "shared", "test")).json()["data"]["id"],
        (await submit(stack, tenant, "shared", "live")).json()["data"]["id"],
        (await submit(stack, other, "shared", "test")).json()["data"]["id"],
    }
    assert len(ids) == 3


async def test_fifty_concurrent_duplicates_make_one_job_and_one_reservation(
    stack: Stack, tenant: Tenant
) -> None:
    responses = await asyncio.gather(*(submit(stack, tenant, "burst") for _ in range(50)))
    job_ids = {accepted_job(r)["id"] for r in responses}
    assert len(job_ids) == 1
    replayed = [r.headers["idempotent-replayed"] for r in responses]
    assert replayed.count("false") == 1 and replayed.count("true") == 49
    [job_id] = job_ids
    reservations = [
        e for e in await ledger.job_entries(db=stack.db, job_id=job_id) if e.kind == "reserve"
    ]
    assert len(reservations) == 1
    listed = await stack.http.get("/v1/jobs", headers=tenant.headers())
    assert [j["id"] for j in listed.json()["data"]] == [job_id]


async def test_after_24_hours_the_key_makes_a_new_job_and_the_old_stays_readable(
    stack: Stack, tenant: Tenant
) -> None:
    old = (await submit(stack, tenant, "daily", wait_for_completion_ms=10_000)).json()["data"]
    stack.clock.advance(timedelta(hours=23, minutes=59))
    assert (await submit(stack, tenant, "daily", wait_for_completion_ms=10_000)).json()["data"][
        "id"
    ] == old["id"]
    stack.clock.advance(timedelta(minutes=2))
    new = await submit(stack, tenant, "daily", options={"language": "de"})
    assert new.headers["idempotent-replayed"] == "false"
    assert accepted_job(new)["id"] != old["id"]
    still = await stack.http.get(f"/v1/jobs/{old['id']}", headers=tenant.headers())
    assert still.json()["data"]["status"] == "DONE"


async def test_errors_before_the_job_exists_are_not_remembered(
    stack: Stack, tenant: Tenant
) -> None:
    key = {"Idempotency-Key": "fix-and-retry"}
    bad = await stack.http.post(
        "/v1/posts/generations",
        json={"projectId": tenant.project_id, "source": {}},
        headers=tenant.headers(**key),
    )
    assert bad.status_code == 400
    unknown = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, projectId="proj_" + "b" * 26),
        headers=tenant.headers(**key),
    )
    assert unknown.status_code == 404
    fixed = await submit(stack, tenant, "fix-and-retry")
    accepted_job(fixed)
    assert fixed.headers["idempotent-replayed"] == "false"


async def test_a_spend_refusal_is_not_remembered_and_leaves_no_job(stack: Stack) -> None:
    tenant = await stack.tenant(cap_cents=0)
    refused = await submit(stack, tenant, "capped")
    error = assert_envelope(refused, 402, "spend_cap_exceeded")
    meta = error["meta"]
    assert meta["capCents"] == 0 and meta["estimateCents"] == 5 and meta["spentCents"] == 0
    assert meta["bucketDate"] in error["message"] and "00:00" in error["message"]
    listed = await stack.http.get("/v1/jobs", headers=tenant.headers())
    assert listed.json()["data"] == []
    scope = idempotency_scope(
        workspace_id=tenant.workspace_id, mode="test", route=GENERATION_ROUTE, key="capped"
    )
    hidden = await stack.http.get(
        f"/v1/jobs/{derived_job_id(scope=scope, generation=0)}", headers=tenant.headers()
    )
    assert_envelope(hidden, 404, "not_found")
    # Once the cap allows, the same key (even with another body) is admitted as a new job.
    await workspaces_repo.update_workspace(
        db=stack.db, workspace_id=tenant.workspace_id, daily_cap_cents=100
    )
    admitted = await submit(stack, tenant, "capped", options={"language": "fr"})
    assert admitted.headers["idempotent-replayed"] == "false"
    assert accepted_job(admitted)["id"] == derived_job_id(scope=scope, generation=1)
