"""Jobs: reads without a worker, listing with filters and cursors, cancel."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError

from db.repo import ledger
from db.repo import workspaces as workspaces_repo
from devtools.tenants import Tenant, generation_body
from tests.utils.envelope import assert_envelope
from tests.utils.jobs import accepted_job
from tests.utils.stack import FakeLlm, IdleApi, Stack
from tests.utils.waiting import eventually
from workflows.post_generation import PostGenerationWorkflow


async def queued_job(idle: IdleApi, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await idle.http.post(
        "/v1/posts/generations", json=generation_body(tenant, **body), headers=tenant.headers()
    )
    job = accepted_job(response)
    assert job["status"] == "QUEUED"  # no worker polls this queue: admission timed out
    return job


async def get_job(stack: Stack, tenant: Tenant, job_id: str) -> dict[str, Any]:
    response = await stack.http.get(f"/v1/jobs/{job_id}", headers=tenant.headers())
    assert response.status_code == 200
    job: dict[str, Any] = response.json()["data"]
    return job


async def test_a_queued_job_is_readable_with_no_worker_and_runs_when_one_comes(
    stack: Stack, idle_api: IdleApi, tenant: Tenant
) -> None:
    job = await queued_job(idle_api, tenant)
    read = await get_job(stack, tenant, job["id"])
    assert read["status"] == "QUEUED" and read["startedAt"] is None and read["progress"] is None
    async with stack.worker(idle_api.settings.temporal_task_queue):

        async def done() -> bool:
            return bool((await get_job(stack, tenant, job["id"]))["status"] == "DONE")

        await eventually(done)


async def test_cancelling_a_queued_job_reserves_nothing_and_it_stays_cancelled(
    stack: Stack, idle_api: IdleApi, tenant: Tenant
) -> None:
    job = await queued_job(idle_api, tenant)
    response = await stack.http.post(f"/v1/jobs/{job['id']}/cancel", headers=tenant.headers())
    assert response.status_code == 200
    cancelled = response.json()["data"]
    assert cancelled["status"] == "CANCELLED" and cancelled["completedAt"] is not None
    assert cancelled["cost"]["actualCents"] == 0
    again = await stack.http.post(f"/v1/jobs/{job['id']}/cancel", headers=tenant.headers())
    assert assert_envelope(again, 409, "not_cancellable")["details"]["status"] == "CANCELLED"
    async with stack.worker(idle_api.settings.temporal_task_queue):
        handle = stack.client.get_workflow_handle_for(PostGenerationWorkflow.run, job["id"])
        outcome = await handle.result()
    assert outcome.status == "CANCELLED"
    assert await ledger.job_entries(db=stack.db, job_id=job["id"]) == []
    assert (await get_job(stack, tenant, job["id"]))["status"] == "CANCELLED"


async def test_running_or_finished_jobs_are_not_cancellable(stack: Stack, tenant: Tenant) -> None:
    done = accepted_job(
        await stack.http.post(
            "/v1/posts/generations",
            json=generation_body(tenant, wait_for_completion_ms=10_000),
            headers=tenant.headers(),
        )
    )
    response = await stack.http.post(f"/v1/jobs/{done['id']}/cancel", headers=tenant.headers())
    assert assert_envelope(response, 409, "not_cancellable")["details"]["status"] == "DONE"
    missing = await stack.http.post("/v1/jobs/job_nope/cancel", headers=tenant.headers())
    assert_envelope(missing, 404, "not_found")


async def test_a_refusal_after_a_202_fails_the_job_visibly(stack: Stack, idle_api: IdleApi) -> None:
    tenant = await stack.tenant(cap_cents=5)
    job = await queued_job(idle_api, tenant)
    await workspaces_repo.update_workspace(
        db=stack.db, workspace_id=tenant.workspace_id, daily_cap_cents=0
    )
    async with stack.worker(idle_api.settings.temporal_task_queue):
        with pytest.raises(WorkflowFailureError) as raised:  # a FAILED job fails its workflow
            await stack.client.get_workflow_handle(job["id"]).result()
    assert getattr(raised.value.cause, "type", None) == "spend_cap_exceeded"
    failed = await get_job(stack, tenant, job["id"])
    assert failed["status"] == "FAILED" and failed["errorCode"] == "spend_cap_exceeded"
    assert failed["cost"]["actualCents"] == 0


async def test_a_provider_rejection_fails_the_job_with_a_stable_code(
    stack: Stack, tenant: Tenant, llm: FakeLlm
) -> None:
    llm.fake.script.extend(["400"])
    response = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=10_000),
        headers=tenant.headers("live"),
    )
    job = response.json()["data"]
    assert response.status_code == 200 and job["status"] == "FAILED"
    assert job["errorCode"] == "provider_rejected"
    assert "fake 400" not in job["errorMessage"]  # no provider internals
    assert job["result"] is None and job["attemptCount"] == 1
    assert job["cost"] == {"estimateCents": 5, "actualCents": 0, "actualUsd": "0"}


async def test_transient_provider_errors_are_retried_and_counted(
    stack: Stack, tenant: Tenant, llm: FakeLlm
) -> None:
    llm.fake.script.extend(["500", "429"])
    llm.fake.retry_after = "0"
    job = (
        await stack.http.post(
            "/v1/posts/generations",
            json=generation_body(tenant, wait_for_completion_ms=20_000),
            headers=tenant.headers("live"),
        )
    ).json()["data"]
    assert job["status"] == "DONE" and job["attemptCount"] == 3


# --- listing ------------------------------------------------------------------------------------


async def make_jobs(stack: Stack, tenant: Tenant, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await stack.http.post(
            "/v1/posts/generations",
            json=generation_body(tenant, wait_for_completion_ms=10_000),
            headers=tenant.headers(),
        )
        ids.append(response.json()["data"]["id"])
    return ids


async def list_jobs(stack: Stack, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await stack.http.get("/v1/jobs", params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_pages_walk_all_jobs_newest_first_exactly_once(stack: Stack, tenant: Tenant) -> None:
    ids = await make_jobs(stack, tenant, 5)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await list_jobs(stack, tenant, **params)
        seen += [job["id"] for job in page["data"]]
        pages += 1
        if not page["pagination"]["has_more"]:
            assert page["pagination"]["next_cursor"] is None
            break
        cursor = page["pagination"]["next_cursor"]
    assert pages == 3 and seen == list(reversed(ids))
    assert (await list_jobs(stack, tenant))["pagination"] == {
        "next_cursor": None,
        "has_more": False,
    }


async def test_filters(stack: Stack, idle_api: IdleApi, tenant: Tenant, llm: FakeLlm) -> None:
    [done] = await make_jobs(stack, tenant, 1)
    queued = await queued_job(idle_api, tenant)
    llm.fake.script.append("401")
    failed = (
        await stack.http.post(
            "/v1/posts/generations",
            json=generation_body(tenant, wait_for_completion_ms=10_000),
            headers=tenant.headers("live"),
        )
    ).json()["data"]
    assert failed["status"] == "FAILED"  # live mode: not in the test-mode list below

    async def ids(**params: Any) -> set[str]:
        return {j["id"] for j in (await list_jobs(stack, tenant, **params))["data"]}

    assert await ids(status="DONE") == {done}
    assert await ids(status="QUEUED,DONE") == {done, queued["id"]}
    assert await ids(type="POST_GENERATION") == {done, queued["id"]}
    assert await ids(type="KB_INGEST_TEXT") == set()
    assert await ids(projectId=tenant.project_id) == {done, queued["id"]}
    assert await ids(projectId="proj_" + "z" * 26) == set()
    live = await stack.http.get(
        "/v1/jobs", params={"status": "FAILED"}, headers=tenant.headers("live")
    )
    assert [j["id"] for j in live.json()["data"]] == [failed["id"]]


async def test_date_filters_are_inclusive(stack: Stack, tenant: Tenant) -> None:
    stack.clock.advance(timedelta(days=-3))
    [old] = await make_jobs(stack, tenant, 1)
    stack.clock.reset()
    [new] = await make_jobs(stack, tenant, 1)
    old_job = await get_job(stack, tenant, old)
    old_day = old_job["createdAt"][:10]

    async def ids(**params: Any) -> set[str]:
        return {j["id"] for j in (await list_jobs(stack, tenant, **params))["data"]}

    assert await ids(dateFrom=old_day, dateTo=old_day) == {old}
    assert await ids(dateFrom=old_job["createdAt"]) == {old, new}
    assert await ids(dateTo=old_job["createdAt"]) == {old}
    assert await ids(dateFrom=(stack.clock.now() - timedelta(days=1)).date().isoformat()) == {new}


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", ""])
async def test_bad_limits_are_bad_pagination(stack: Stack, tenant: Tenant, limit: str) -> None:
    response = await stack.http.get("/v1/jobs", params={"limit": limit}, headers=tenant.headers())
    assert_envelope(response, 400, "bad_pagination")


async def test_large_limits_are_clamped(stack: Stack, tenant: Tenant) -> None:
    response = await stack.http.get("/v1/jobs", params={"limit": 10_000}, headers=tenant.headers())
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "DONE,NOPE"),
        ("status", "REFUSED"),
        ("type", "POST"),
        ("dateFrom", "yesterday"),
        ("dateTo", "2026-13-01"),
    ],
)
async def test_bad_filters_are_invalid_request(
    stack: Stack, tenant: Tenant, param: str, value: str
) -> None:
    response = await stack.http.get("/v1/jobs", params={param: value}, headers=tenant.headers())
    assert assert_envelope(response, 400, "invalid_request")["details"]["field"] == param


async def test_cursors_are_opaque_and_tamper_evident(stack: Stack, tenant: Tenant) -> None:
    await make_jobs(stack, tenant, 2)
    cursor = (await list_jobs(stack, tenant, limit=1))["pagination"]["next_cursor"]
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    tampered = base64.urlsafe_b64encode(raw.replace(b'"i":"job_', b'"i":"job_z')).decode()
    other = await stack.tenant()
    for headers, params in (
        (tenant.headers(), {"cursor": "garbage"}),
        (tenant.headers(), {"cursor": tampered}),
        (tenant.headers(), {"cursor": cursor, "status": "DONE"}),  # another list
        (tenant.headers("live"), {"cursor": cursor}),  # another mode
        (other.headers(), {"cursor": cursor}),  # another workspace
    ):
        response = await stack.http.get("/v1/jobs", params=params, headers=headers)
        assert_envelope(response, 400, "bad_cursor")
