"""The money promises off the happy path, with the real worker on the Temporal dev server,
the real ``openai`` SDK against the fake provider, and the real database:

* the cap holds when every attempt is billed and a call costs more than the estimate;
* a post the database cannot store fails the job ``storage_rejected`` (no endless retry)
  and releases its reservation;
* a database step slower than the heartbeat timeout does not start a second, paid call;
* a 60 s PostgreSQL outage with jobs in flight: every job ends DONE, each call booked once.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from config import Settings
from contracts import (
    SPEND_CAP_EXCEEDED,
    STORAGE_REJECTED,
    JobMode,
    JobOutcome,
    JobStatus,
    PostGenerationInput,
    SourceSpec,
)
from db import retry as db_retry
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger
from devtools.chaos.proxy import TcpProxy
from devtools.serving import free_port
from devtools.tenants import SOURCE_TEXT, Tenant, make_tenant
from domain.money import NANOS_PER_CENT
from domain.pricing import ModelPrice
from ids import new_id
from tests.utils.outcomes import job_outcome
from tests.utils.sqlite_lock import write_lock_held
from tests.utils.stack import FakeLlm, Stack, make_settings
from tests.utils.waiting import eventually
from worker import build_worker, worker_resources
from workflows import policies
from workflows.post_generation import PostGenerationWorkflow

CENT = NANOS_PER_CENT
JOB_TIMEOUT = 60.0


async def start_job(
    db: Database,
    client: Client,
    tenant: Tenant,
    *,
    task_queue: str,
    estimate_nanos: int,
    mode: JobMode = JobMode.LIVE,
    scheduled_for: datetime | None = None,
) -> WorkflowHandle[PostGenerationWorkflow, JobOutcome]:
    """What the API does for a POST (row first, then the workflow), minus the HTTP edge:
    these inputs are ones the API may refuse, and the workers under test are our own."""
    job = PostGenerationInput(
        job_id=new_id("job"),
        workspace_id=tenant.workspace_id,
        mode=mode,
        project_id=tenant.project_id,
        source=SourceSpec(text=SOURCE_TEXT),
        scheduled_for=scheduled_for,
        estimate_nanos=estimate_nanos,
    )
    now = datetime.now(UTC)
    await jobs_repo.insert_job(
        db=db,
        job_id=job.job_id,
        workspace_id=job.workspace_id,
        mode=mode.value,
        type="POST_GENERATION",
        project_id=job.project_id,
        idempotency_scope=None,
        idempotency_generation=0,
        fingerprint=None,
        workflow_input=job.model_dump(mode="json"),
        estimate_nanos=estimate_nanos,
        now=now,
    )
    await jobs_repo.acknowledge(db=db, job_id=job.job_id, now=now)
    return await client.start_workflow(
        PostGenerationWorkflow.run, job, id=job.job_id, task_queue=task_queue
    )


@contextlib.asynccontextmanager
async def terminated_at_exit(
    handles: list[WorkflowHandle[PostGenerationWorkflow, JobOutcome]],
) -> AsyncIterator[None]:
    """A failing run must not leave a workflow retrying in the session's server."""
    try:
        yield
    finally:
        for handle in handles:
            with contextlib.suppress(Exception):
                await handle.terminate("test finished")


async def bucket_of(db: Database, tenant: Tenant, mode: str = "live") -> tuple[int, int]:
    found = await ledger.get_bucket(
        db=db, workspace_id=tenant.workspace_id, mode=mode, day=datetime.now(UTC).date()
    )
    return (found.reserved_nanos, found.spent_nanos) if found else (0, 0)


async def test_the_cap_holds_under_five_billed_attempts_of_an_expensive_model(
    stack: Stack, llm: FakeLlm
) -> None:
    # Every answer is billed and useless (empty: retryable), and costs 10¢ (1,000 output
    # tokens at $100 per million) against a 5¢ estimate; a call's worst case is 12¢
    # (max_tokens 1,200). The cap is 30¢: five such calls would book 50¢.
    settings = stack.settings.model_copy(
        update={
            "temporal_task_queue": f"expensive-{uuid.uuid4().hex[:8]}",
            "llm_prices": {"gpt-4o-mini": ModelPrice(input=Decimal(0), output=Decimal(100))},
            "llm_max_output_tokens": 1200,
        }
    )
    tenant = await stack.tenant(cap_cents=30)
    llm.fake.completion_tokens = 1000
    llm.fake.script.extend(["empty"] * 5)
    handles: list[WorkflowHandle[PostGenerationWorkflow, JobOutcome]] = []
    try:
        async with (
            build_worker(stack.client, settings, stack.resources),
            terminated_at_exit(handles),
        ):
            handle = await start_job(
                stack.db,
                stack.client,
                tenant,
                task_queue=settings.temporal_task_queue,
                estimate_nanos=settings.spend_estimate_nanos,
            )
            handles.append(handle)
            outcome = await asyncio.wait_for(job_outcome(handle), JOB_TIMEOUT)
    finally:
        llm.fake.completion_tokens = None
        llm.fake.script.clear()
    assert (outcome.status, outcome.error_code) == (JobStatus.FAILED, SPEND_CAP_EXCEEDED)
    reserved, spent = await bucket_of(stack.db, tenant)
    assert reserved == 0  # what the job held is released
    assert spent <= 30 * CENT
    # 10¢ + 12¢ fit, then 20¢ + 12¢ > 30¢: the third call is never made.
    assert len(llm.fake.requests) == 2 and spent == 20 * CENT
    charges = [
        e for e in await ledger.job_entries(db=stack.db, job_id=handle.id) if e.kind == "charge"
    ]
    assert [c.amount_nanos for c in charges] == [10 * CENT, 10 * CENT]


async def test_a_post_the_database_cannot_store_fails_the_job_storage_rejected(
    stack: Stack, tenant: Tenant
) -> None:
    # Valid ISO 8601 and past year 9999 once in UTC: no database column can hold it.
    far_future = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1)))
    handles: list[WorkflowHandle[PostGenerationWorkflow, JobOutcome]] = []
    async with terminated_at_exit(handles):
        handle = await start_job(
            stack.db,
            stack.client,
            tenant,
            task_queue=stack.settings.temporal_task_queue,
            estimate_nanos=stack.settings.spend_estimate_nanos,
            mode=JobMode.TEST,
            scheduled_for=far_future,
        )
        handles.append(handle)
        outcome = await asyncio.wait_for(job_outcome(handle), JOB_TIMEOUT)
    assert (outcome.status, outcome.error_code) == (JobStatus.FAILED, STORAGE_REJECTED)
    job = await jobs_repo.get_job(db=stack.db, job_id=handle.id)
    assert job is not None and job.status == JobStatus.FAILED
    assert job.error_code == STORAGE_REJECTED and job.post_id is None
    assert job.reserved_open_nanos == 0
    assert await bucket_of(stack.db, tenant, "test") == (0, job.actual_nanos)


async def test_a_database_step_slower_than_the_heartbeat_timeout_makes_one_provider_call(
    stack: Stack, tenant: Tenant, llm: FakeLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short heartbeat timeout keeps the test short. The workflow reads the policy when
    # it schedules the step; unsandboxed, the worker's workflow sees the patched dict.
    heartbeat_timeout = timedelta(seconds=2)
    monkeypatch.setitem(policies.LLM_CALL, "heartbeat_timeout", heartbeat_timeout)
    settings = stack.settings.model_copy(
        update={
            "temporal_task_queue": f"slow-db-{uuid.uuid4().hex[:8]}",
            "worker_workflow_sandbox": False,
        }
    )
    llm.fake.latency_ms = 1000  # time to take the database's write lock meanwhile
    database_file = Path(stack.settings.database_url.split("///", 1)[1])
    handles: list[WorkflowHandle[PostGenerationWorkflow, JobOutcome]] = []
    async with build_worker(stack.client, settings, stack.resources), terminated_at_exit(handles):
        handle = await start_job(
            stack.db,
            stack.client,
            tenant,
            task_queue=settings.temporal_task_queue,
            estimate_nanos=settings.spend_estimate_nanos,
        )
        handles.append(handle)
        await eventually(lambda: _ready(len(llm.fake.requests) >= 1))
        # The provider is answering; booking the answer now waits for the lock three times
        # as long as the heartbeat timeout.
        with write_lock_held(database_file):
            await asyncio.sleep(3 * heartbeat_timeout.total_seconds())
        outcome = await asyncio.wait_for(job_outcome(handle), JOB_TIMEOUT)
    assert outcome.status == JobStatus.DONE, outcome
    assert len(llm.fake.requests) == 1
    charges = [
        e for e in await ledger.job_entries(db=stack.db, job_id=handle.id) if e.kind == "charge"
    ]
    assert len(charges) == 1


async def _ready(condition: bool) -> bool:
    return condition


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_60_second_postgres_outage_with_jobs_in_flight_ends_every_job_done(
    session_dir: Path,
    temporal_env: WorkflowEnvironment,
    llm: FakeLlm,
    postgres_url: str,
    postgres_db: Database,
) -> None:
    proxy = TcpProxy(free_port(), "127.0.0.1", 5432)
    await proxy.start()
    host, name = postgres_url.rsplit("/", 1)
    proxied = f"{host.rsplit(':', 1)[0]}:{proxy.port}/{name}"
    settings: Settings = make_settings(
        session_dir,
        temporal_env,
        llm.base_url,
        database_url=proxied,
        temporal_task_queue=f"pg-outage-{uuid.uuid4().hex[:8]}",
    )
    tenant = await make_tenant(postgres_db, settings.signing_key())
    llm.fake.latency_ms = 3000  # the jobs are waiting for their answers when the cut comes
    jobs = 6
    handles: list[WorkflowHandle[PostGenerationWorkflow, JobOutcome]] = []
    try:
        async with worker_resources(settings) as resources:
            async with (
                build_worker(temporal_env.client, settings, resources),
                terminated_at_exit(handles),
            ):
                for _ in range(jobs):
                    handles.append(
                        await start_job(
                            postgres_db,
                            temporal_env.client,
                            tenant,
                            task_queue=settings.temporal_task_queue,
                            estimate_nanos=settings.spend_estimate_nanos,
                        )
                    )
                await eventually(lambda: _ready(len(llm.fake.requests) >= jobs), timeout=30)
                await proxy.cut()  # open connections dropped, new ones refused
                await asyncio.sleep(60)  # the outage itself
                await proxy.start()
                outcomes = await asyncio.wait_for(
                    asyncio.gather(*(job_outcome(h) for h in handles)), 180
                )
    finally:
        await proxy.cut()
    assert [o.status for o in outcomes] == [JobStatus.DONE] * jobs, outcomes
    for handle in handles:
        entries = await ledger.job_entries(db=postgres_db, job_id=handle.id)
        assert [e.kind for e in entries].count("charge") == 1
        job = await jobs_repo.get_job(db=postgres_db, job_id=handle.id)
        assert job is not None and job.reserved_open_nanos == 0 and job.post_id is not None
    assert len(llm.fake.requests) == jobs  # no call was paid twice


async def test_an_answer_whose_booking_failed_is_booked_by_the_next_attempt_without_a_call(
    stack: Stack, tenant: Tenant, llm: FakeLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real server: the answer recorded in attempt 1's heartbeat details reaches
    attempt 2, which books it under attempt 1's key and reuses its post."""
    monkeypatch.setattr(db_retry, "STEP_BUDGET_SECONDS", 1.0)
    # The booking of a written post: in the transaction that also stores it.
    book = jobs_repo.charge_and_finish
    refused: list[str] = []

    async def down_for_the_first_attempt(**kwargs: Any) -> jobs_repo.ChargedJob:
        if activity.info().attempt == 1:
            refused.append(kwargs["charge"].key)
            raise ConnectionRefusedError("database down")
        return await book(**kwargs)

    monkeypatch.setattr(jobs_repo, "charge_and_finish", down_for_the_first_attempt)
    handles: list[WorkflowHandle[PostGenerationWorkflow, JobOutcome]] = []
    async with terminated_at_exit(handles):
        handle = await start_job(
            stack.db,
            stack.client,
            tenant,
            task_queue=stack.settings.temporal_task_queue,
            estimate_nanos=stack.settings.spend_estimate_nanos,
        )
        handles.append(handle)
        outcome = await asyncio.wait_for(job_outcome(handle), JOB_TIMEOUT)
    assert outcome.status == JobStatus.DONE, outcome
    assert refused  # attempt 1 could not book
    assert len(llm.fake.requests) == 1  # attempt 2 reused the answer
    [charge] = [
        e for e in await ledger.job_entries(db=stack.db, job_id=handle.id) if e.kind == "charge"
    ]
    assert charge.key == refused[0]
    job = await jobs_repo.get_job(db=stack.db, job_id=handle.id)
    assert job is not None and job.attempt_count == 2 and job.actual_nanos == charge.amount_nanos
