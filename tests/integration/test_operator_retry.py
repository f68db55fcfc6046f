"""Operator retry: a FAILED job reset on the dev server runs again under the
same job id, ends DONE with one post, and its spend is settled once per billed call.

Resets are made two ways: through ``OperatorJobs.retry`` (what ``scripe jobs retry`` runs)
and with the exact request the Web UI's Reset dialog sends (reset type ALL_ELIGIBLE, with or
without "Exclude Updates"), so both operator paths are covered by the real server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyExcludeType, ResetReapplyType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowFailureError

from contracts import (
    SA_JOB_STATUS,
    JobMode,
    JobOutcome,
    JobStatus,
    PostGenerationInput,
    SourceSpec,
)
from db.repo import jobs as jobs_repo
from db.repo import ledger
from db.repo import posts as posts_repo
from db.repo import workspaces as workspaces_repo
from devtools.tenants import SOURCE_TEXT, Tenant, generation_body
from ids import new_id
from services.admission import TemporalJobs
from services.operator_jobs import JobNotFound, NotRetryable, OperatorJobs
from tests.utils.jobs import done_job
from tests.utils.stack import FakeLlm, Stack
from tests.utils.waiting import eventually
from workflows.post_generation import PostGenerationWorkflow


def operator(stack: Stack) -> OperatorJobs:
    return OperatorJobs(client=stack.client, ui_url="http://127.0.0.1:8233")


async def ui_reset(
    client: Client,
    job_id: str,
    *,
    exclude_updates: bool,
    point: Literal["first", "last"] = "first",
) -> str:
    """The request the Web UI (2.54) sends for Reset → a WorkflowTaskCompleted event (the
    first one, or the last one of the run)."""
    description = await client.get_workflow_handle(job_id).describe()
    handle = client.get_workflow_handle(job_id, run_id=description.run_id)
    tasks = [
        e.event_id
        for e in (await handle.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]
    first_task = tasks[0] if point == "first" else tasks[-1]
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=job_id, run_id=description.run_id),
            workflow_task_finish_event_id=first_task,
            request_id=str(uuid.uuid4()),
            reason="retry from the Web UI",
            reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_ALL_ELIGIBLE,
            reset_reapply_exclude_types=(
                [ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE]
                if exclude_updates
                else []
            ),
        )
    )
    return response.run_id


async def customer_get(
    stack: Stack, tenant: Tenant, job_id: str, mode: Literal["live", "test"] = "live"
) -> dict[str, Any]:
    response = await stack.http.get(f"/v1/jobs/{job_id}", headers=tenant.headers(mode))
    assert response.status_code == 200
    job: dict[str, Any] = response.json()["data"]
    return job


async def submit_failing_job(stack: Stack, tenant: Tenant, llm: FakeLlm, fault: str) -> str:
    llm.fake.script.append(fault)  # type: ignore[arg-type]
    response = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=15_000),
        headers=tenant.headers("live"),
    )
    job = response.json()["data"]
    assert job["status"] == "FAILED" and job["errorCode"] == "provider_rejected", job
    return str(job["id"])


async def reserved_today(stack: Stack, tenant: Tenant) -> int:
    bucket = await ledger.get_bucket(
        db=stack.db, workspace_id=tenant.workspace_id, mode="live", day=datetime.now(UTC).date()
    )
    return bucket.reserved_nanos if bucket else 0


async def ledger_of(stack: Stack, job_id: str) -> list[tuple[str, str, int]]:
    return [
        (e.key, e.kind, e.amount_nanos)
        for e in await ledger.job_entries(db=stack.db, job_id=job_id)
    ]


async def watch_until_done(
    stack: Stack, tenant: Tenant, job_id: str, mode: Literal["live", "test"] = "live"
) -> tuple[set[str], dict[str, Any]]:
    """Poll the customer's GET until DONE; returns the statuses seen on the way."""
    seen: set[str] = set()

    async def done() -> dict[str, Any] | None:
        job = await customer_get(stack, tenant, job_id, mode)
        seen.add(job["status"])
        assert job["status"] != "FAILED" or not seen & {"RUNNING"}, job
        return job if job["status"] == "DONE" else None

    return seen, await eventually(done, interval=0.02)


async def assert_settled_once_per_billed_call(
    stack: Stack, job_id: str, *, billed_calls: int
) -> list[Any]:
    entries = await ledger.job_entries(db=stack.db, job_id=job_id)
    kinds = [e.kind for e in entries]
    # Each run that reserved (the first; a retry whose earlier reservation was released)
    # released what it held: reservations and releases pair up, and nothing stays open.
    assert kinds.count("reserve") >= 1, kinds
    assert kinds.count("release") == kinds.count("reserve"), kinds
    assert kinds.count("charge") == billed_calls, kinds
    assert len({e.key for e in entries}) == len(entries)
    row = await jobs_repo.get_job(db=stack.db, job_id=job_id)
    assert row is not None and row.reserved_open_nanos == 0
    return [e for e in entries if e.kind == "charge"]


async def test_scripe_retry_of_a_failed_job_ends_done_with_one_post_and_one_settlement(
    stack: Stack, tenant: Tenant, llm: FakeLlm
) -> None:
    before = await reserved_today(stack, tenant)
    job_id = await submit_failing_job(stack, tenant, llm, "400")  # rejected: nothing billed
    assert await reserved_today(stack, tenant) == before  # the failure released the estimate
    llm.fake.latency_ms = 1500  # long enough for the customer to see the retry RUNNING

    retried = await operator(stack).retry(job_id, reason="test retry")

    assert retried.job_id == job_id and retried.new_run_id != retried.failed_run_id
    seen, done = await watch_until_done(stack, tenant, job_id)
    assert "RUNNING" in seen
    assert done["id"] == job_id and done["errorCode"] is None and done["attemptCount"] == 2
    [post] = await posts_repo.posts_for_job(db=stack.db, job_id=job_id)
    assert done["result"] == {"postId": post.id}
    [charge] = await assert_settled_once_per_billed_call(stack, job_id, billed_calls=1)
    assert retried.new_run_id in charge.key
    assert await reserved_today(stack, tenant) == before
    assert done["cost"]["actualCents"] == -(-charge.amount_nanos // 10_000_000)


@pytest.mark.parametrize("exclude_updates", [False, True], ids=["default", "exclude-updates"])
async def test_web_ui_reset_of_a_failed_job_settles_each_billed_call_once(
    stack: Stack, tenant: Tenant, llm: FakeLlm, exclude_updates: bool
) -> None:
    before = await reserved_today(stack, tenant)
    # The provider answers (and bills) but refuses: the first run pays for one call.
    job_id = await submit_failing_job(stack, tenant, llm, "refusal")
    failed = await stack.client.get_workflow_handle(job_id).describe()
    memo = await failed.memo()
    assert memo["errorCode"] == "provider_rejected"
    assert memo["errorMessage"] == "The AI provider rejected the request."
    assert memo["cause"].startswith("generate_post failed (non retryable failure)")
    llm.fake.latency_ms = 1500

    new_run_id = await ui_reset(stack.client, job_id, exclude_updates=exclude_updates)

    seen, done = await watch_until_done(stack, tenant, job_id)
    # Admitted at once even when the admit update is not re-applied: the new run admits
    # itself, with no timer waiting for an update that will not come.
    history = await stack.client.get_workflow_handle(job_id, run_id=new_run_id).fetch_history()
    assert not [e for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    assert "RUNNING" in seen and done["id"] == job_id and done["attemptCount"] == 2
    assert len(await posts_repo.posts_for_job(db=stack.db, job_id=job_id)) == 1
    charges = await assert_settled_once_per_billed_call(stack, job_id, billed_calls=2)
    assert [failed.run_id in charges[0].key, new_run_id in charges[1].key] == [True, True]
    assert await reserved_today(stack, tenant) == before
    current = await stack.client.get_workflow_handle(job_id).describe()
    assert current.run_id == new_run_id
    # The new run's own state: JobStatus DONE, and no failure memo carried over.
    assert current.typed_search_attributes.get(SA_JOB_STATUS) == "DONE"
    assert "errorCode" not in await current.memo()


async def test_a_job_can_be_retried_again_after_its_retry_failed(
    stack: Stack, tenant: Tenant, llm: FakeLlm
) -> None:
    job_id = await submit_failing_job(stack, tenant, llm, "400")
    llm.fake.script.append("400")
    first = await operator(stack).retry(job_id, reason="first retry")

    async def failed_again() -> bool:
        job = await customer_get(stack, tenant, job_id)
        current = await stack.client.get_workflow_handle(job_id).describe()
        return job["status"] == "FAILED" and current.close_time is not None

    await eventually(failed_again)
    second = await operator(stack).retry(job_id, reason="second retry")

    assert second.failed_run_id == first.new_run_id
    _, done = await watch_until_done(stack, tenant, job_id)
    assert done["attemptCount"] == 3
    assert len(await posts_repo.posts_for_job(db=stack.db, job_id=job_id)) == 1
    await assert_settled_once_per_billed_call(stack, job_id, billed_calls=1)


async def test_retry_refuses_jobs_that_are_not_failed(
    stack: Stack, tenant: Tenant, llm: FakeLlm
) -> None:
    done = await done_job(stack, tenant)
    assert done["status"] == "DONE"
    with pytest.raises(NotRetryable, match=r"is DONE .*only FAILED jobs can be retried"):
        await operator(stack).retry(done["id"], reason="no")

    llm.fake.latency_ms = 3000
    response = await stack.http.post(
        "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers("live")
    )
    running_id = response.json()["data"]["id"]
    with pytest.raises(NotRetryable, match="only FAILED jobs can be retried"):
        await operator(stack).retry(running_id, reason="no")
    with pytest.raises(JobNotFound):
        await operator(stack).retry("job_" + "z" * 26, reason="no")
    with pytest.raises(ValueError, match="not an id"):
        await operator(stack).retry('job" OR WorkflowId != "', reason="no")
    await stack.client.get_workflow_handle(running_id).result()


async def test_a_job_refused_for_the_cap_is_admitted_by_its_retry_once_the_cap_allows(
    stack: Stack,
) -> None:
    """A job the API had already answered 202 for, then refused at admission, FAILED with
    spend_cap_exceeded holding no reservation: its retry is admitted like a new job."""
    tenant = await stack.tenant(cap_cents=0)
    job_id = new_id("job")
    job = PostGenerationInput(
        job_id=job_id,
        workspace_id=tenant.workspace_id,
        mode=JobMode.TEST,
        project_id=tenant.project_id,
        source=SourceSpec(text=SOURCE_TEXT),
        estimate_nanos=stack.settings.spend_estimate_nanos,
    )
    now = datetime.now(UTC)
    await jobs_repo.insert_job(
        db=stack.db,
        job_id=job_id,
        workspace_id=tenant.workspace_id,
        mode="test",
        type="POST_GENERATION",
        project_id=tenant.project_id,
        idempotency_scope=None,
        idempotency_generation=0,
        fingerprint=None,
        workflow_input=job.model_dump(mode="json"),
        estimate_nanos=job.estimate_nanos,
        now=now,
    )
    await jobs_repo.acknowledge(db=stack.db, job_id=job_id, now=now)  # the API's 202 QUEUED
    temporal = TemporalJobs(
        client=stack.client, task_queue=stack.settings.temporal_task_queue, admission_timeout=10
    )
    assert (await temporal.admit(job)).outcome == "refused"
    with pytest.raises(WorkflowFailureError):  # a FAILED job fails its workflow
        await stack.client.get_workflow_handle(job_id).result()
    failed = await customer_get(stack, tenant, job_id, mode="test")
    assert (failed["status"], failed["errorCode"]) == ("FAILED", "spend_cap_exceeded")
    assert await ledger.job_entries(db=stack.db, job_id=job_id) == []

    await workspaces_repo.update_workspace(
        db=stack.db, workspace_id=tenant.workspace_id, daily_cap_cents=None
    )
    await operator(stack).retry(job_id, reason="cap raised")

    _, done = await watch_until_done(stack, tenant, job_id, mode="test")
    assert done["result"]["postId"].startswith("post_")
    await assert_settled_once_per_billed_call(stack, job_id, billed_calls=1)


@pytest.mark.parametrize("point", ["first", "last"])
async def test_web_ui_reset_of_a_done_job_ends_done_with_its_post_and_no_new_call(
    stack: Stack, tenant: Tenant, llm: FakeLlm, point: Literal["first", "last"]
) -> None:
    """Reset of a DONE job, to its first workflow task (the new run admits the job again)
    or to its last one (the new run stores the post again): the job keeps its post, the
    provider is not called, nothing more is reserved or charged."""
    done = await done_job(stack, tenant, "live", wait_ms=15_000)
    assert done["status"] == "DONE", done
    calls = len(llm.fake.requests)
    entries = await ledger_of(stack, done["id"])
    before = await reserved_today(stack, tenant)

    new_run_id = await ui_reset(stack.client, done["id"], exclude_updates=False, point=point)

    outcome = await stack.client.get_workflow_handle_for(
        PostGenerationWorkflow.run, done["id"], run_id=new_run_id
    ).result()
    assert outcome == JobOutcome(status=JobStatus.DONE, post_id=done["result"]["postId"])
    assert len(llm.fake.requests) == calls
    after = await customer_get(stack, tenant, done["id"])
    assert after["status"] == "DONE" and after["result"] == done["result"]
    assert after["errorCode"] is None and after["cost"] == done["cost"]
    assert len(await posts_repo.posts_for_job(db=stack.db, job_id=done["id"])) == 1
    assert await ledger_of(stack, done["id"]) == entries
    assert await reserved_today(stack, tenant) == before
