"""Every way a job's workflow can end outside the happy path settles the job.

On the dev server with the real worker, API and openai SDK against the fake provider: a
RUNNING job cancelled by the customer; a workflow terminated mid-LLM-call (the reconciler
settles it); operator resets of a DONE job to its first and to a later workflow task.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus

from contracts import SA_JOB_STATUS
from db.repo import jobs as jobs_repo
from db.repo import ledger
from devtools.tenants import Tenant, generation_body
from services.operator_jobs import OperatorJobs
from services.reconciliation import Reconciler, StillRunning, ensure_reconciler_schedule
from tests.utils.cli import scripe
from tests.utils.envelope import assert_envelope
from tests.utils.stack import FakeLlm, Stack
from tests.utils.waiting import eventually


async def reserved_today(stack: Stack, tenant: Tenant) -> int:
    bucket = await ledger.get_bucket(
        db=stack.db, workspace_id=tenant.workspace_id, mode="live", day=datetime.now(UTC).date()
    )
    return bucket.reserved_nanos if bucket else 0


async def job_in_provider_call(stack: Stack, tenant: Tenant, llm: FakeLlm) -> str:
    """A live job whose provider call hangs: RUNNING, its estimate reserved."""
    llm.fake.script.append("hang")
    response = await stack.http.post(
        "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers("live")
    )
    assert response.status_code == 202, response.text
    job_id = str(response.json()["data"]["id"])

    async def calling() -> bool:
        return any(r["body"].get("messages") for r in llm.fake.requests)

    await eventually(calling)
    return job_id


async def customer_job(stack: Stack, tenant: Tenant, job_id: str) -> dict[str, Any]:
    response = await stack.http.get(f"/v1/jobs/{job_id}", headers=tenant.headers("live"))
    assert response.status_code == 200
    job: dict[str, Any] = response.json()["data"]
    return job


async def test_cancelling_a_running_job_stops_the_call_and_releases_its_reservation(
    stack: Stack, tenant: Tenant, llm: FakeLlm
) -> None:
    before = await reserved_today(stack, tenant)
    job_id = await job_in_provider_call(stack, tenant, llm)
    assert await reserved_today(stack, tenant) == before + stack.settings.spend_estimate_nanos

    response = await stack.http.post(f"/v1/jobs/{job_id}/cancel", headers=tenant.headers("live"))

    assert response.status_code in (200, 202), response.text
    if response.status_code == 200:
        assert response.json()["data"]["status"] == "CANCELLED"

    async def cancelled() -> dict[str, Any] | None:
        job = await customer_job(stack, tenant, job_id)
        return job if job["status"] == "CANCELLED" else None

    job = await eventually(cancelled, timeout=30)
    assert job["result"] is None and job["completedAt"] is not None
    assert job["cost"]["actualCents"] == 0
    assert await reserved_today(stack, tenant) == before
    kinds = [e.kind for e in await ledger.job_entries(db=stack.db, job_id=job_id)]
    assert kinds == ["reserve", "release"]
    described = await stack.client.get_workflow_handle(job_id).describe()
    assert described.status == WorkflowExecutionStatus.CANCELED
    assert described.typed_search_attributes.get(SA_JOB_STATUS) == "CANCELLED"
    again = await stack.http.post(f"/v1/jobs/{job_id}/cancel", headers=tenant.headers("live"))
    assert assert_envelope(again, 409, "not_cancellable")["details"]["status"] == "CANCELLED"
    row = await jobs_repo.get_job(db=stack.db, job_id=job_id)
    assert row is not None and row.reserved_open_nanos == 0


async def test_a_workflow_terminated_mid_call_is_settled_by_the_reconciler_schedule(
    stack: Stack, tenant: Tenant, llm: FakeLlm
) -> None:
    before = await reserved_today(stack, tenant)
    job_id = await job_in_provider_call(stack, tenant, llm)
    await stack.client.get_workflow_handle(job_id).terminate(reason="stuck, per the operator")
    assert (await customer_job(stack, tenant, job_id))["status"] == "RUNNING"  # nobody settled

    task_queue = stack.settings.temporal_task_queue
    schedule_id = await ensure_reconciler_schedule(stack.client, task_queue)
    assert await ensure_reconciler_schedule(stack.client, task_queue) == schedule_id  # idempotent
    schedule = stack.client.get_schedule_handle(schedule_id)
    try:
        described = await schedule.describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(minutes=1)]
        await schedule.trigger()  # the minute's pass, now

        async def settled() -> dict[str, Any] | None:
            job = await customer_job(stack, tenant, job_id)
            return job if job["status"] == "FAILED" else None

        job = await eventually(settled, timeout=30)
    finally:
        await schedule.delete()
    assert job["errorCode"] == "job_terminated"
    assert job["errorMessage"] == "The job was stopped by an operator or by the job engine."
    assert await reserved_today(stack, tenant) == before
    kinds = [e.kind for e in await ledger.job_entries(db=stack.db, job_id=job_id)]
    assert kinds == ["reserve", "release"]


async def test_settle_leaves_a_running_workflow_alone_and_settles_a_terminated_one(
    stack: Stack, tenant: Tenant, llm: FakeLlm
) -> None:
    """What ``scripe jobs settle`` runs."""
    job_id = await job_in_provider_call(stack, tenant, llm)
    reconciler = Reconciler(db=stack.db, client=stack.client)
    with pytest.raises(StillRunning, match="still running"):
        await reconciler.settle(job_id)
    await stack.client.get_workflow_handle(job_id).terminate(reason="test")

    settled = await reconciler.settle(job_id)

    assert settled is not None
    assert (settled.workflow_status, settled.status, settled.error_code) == (
        "TERMINATED",
        "FAILED",
        "job_terminated",
    )
    assert await reconciler.settle(job_id) is None  # final already: nothing to do
    row = await jobs_repo.get_job(db=stack.db, job_id=job_id)
    assert row is not None and row.reserved_open_nanos == 0


async def test_scripe_jobs_settle_settles_a_terminated_job_which_can_then_be_retried(
    stack: Stack, tenant: Tenant, llm: FakeLlm, temporal_ui_port: int
) -> None:
    job_id = await job_in_provider_call(stack, tenant, llm)
    code, _, err = await scripe(stack, temporal_ui_port, "jobs", "settle", job_id)
    assert code == 1 and "still running" in err
    await stack.client.get_workflow_handle(job_id).terminate(reason="test")

    code, out, err = await scripe(stack, temporal_ui_port, "jobs", "settle", job_id, "--json")

    assert code == 0, err
    [row] = json.loads(out)
    assert (row["job_id"], row["status"], row["error_code"]) == (job_id, "FAILED", "job_terminated")
    assert (await customer_job(stack, tenant, job_id))["errorCode"] == "job_terminated"
    # A terminated job is retried like a FAILED one: same id, ends DONE with one post.
    await OperatorJobs(client=stack.client, ui_url="http://ui").retry(job_id, reason="test")

    async def done() -> dict[str, Any] | None:
        job = await customer_job(stack, tenant, job_id)
        return job if job["status"] == "DONE" else None

    assert (await eventually(done, timeout=30))["result"]["postId"].startswith("post_")
    row_after = await jobs_repo.get_job(db=stack.db, job_id=job_id)
    assert row_after is not None and row_after.reserved_open_nanos == 0
