"""Settling jobs whose workflow closed without settling them.

A workflow settles its job itself on every path it controls (DONE, FAILED, CANCELLED). It
cannot when it is stopped from outside: terminated (Web UI, CLI, the server at the history
size limit), timed out, or gone from Temporal. Such a job would stay RUNNING with its
reservation held. The reconciler finds them (the rows that are not final, checked against
the workflow's state in Temporal) and settles each one:

=================  ===============================================
workflow           job
=================  ===============================================
TERMINATED         FAILED ``job_terminated``
TIMED_OUT          FAILED ``job_timed_out``
CANCELED           CANCELLED
FAILED             FAILED with the workflow's failure type (when documented)
not found          FAILED ``job_terminated`` (after ``NOT_FOUND_GRACE``)
running/completed  left alone
=================  ===============================================

Billed calls stay charged; what the reservation still holds is released. It runs every
minute as a Temporal Schedule (``reconciler_schedule_id``) and on demand with
``scripe jobs settle``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts import (
    GENERATION_FAILED,
    JOB_ERROR_MESSAGES,
    JOB_TERMINATED,
    JOB_TIMED_OUT,
    JobStatus,
    ReconciledJob,
    ReconcileInput,
    ReconcileResult,
)
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.tables import Job
from domain.errors import NotFoundError, StateConflict
from workflows.reconciler import ReconcileJobsWorkflow

log = logging.getLogger("scripe.reconciler")

RECONCILE_EVERY = timedelta(minutes=1)
# A row whose workflow Temporal does not know is settled only once it is this old: the API
# writes the row before it starts the workflow.
NOT_FOUND_GRACE = timedelta(minutes=2)
# Workflow descriptions asked for at once.
CONCURRENCY = 8


class StillRunning(StateConflict, ValueError):
    """The job's workflow is running: it settles the job itself (cancel it to stop it)."""


@dataclass(frozen=True)
class Verdict:
    workflow_status: str
    status: JobStatus
    error_code: str | None


class Reconciler:
    def __init__(self, *, db: Database, client: Client) -> None:
        self._db = db
        self._client = client

    async def run_pass(self, request: ReconcileInput) -> ReconcileResult:
        """Settle every unfinished job (up to ``limit``) whose workflow has closed."""
        jobs = await jobs_repo.list_unfinished(db=self._db, limit=request.limit)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(job: Job) -> ReconciledJob | None:
            async with gate:
                return await self._reconcile(job)

        settled = [s for s in await asyncio.gather(*(one(j) for j in jobs)) if s is not None]
        if settled:
            log.warning(
                "reconciler settled %d job(s): %s",
                len(settled),
                ", ".join(f"{s.job_id} ({s.workflow_status})" for s in settled),
            )
        return ReconcileResult(checked=len(jobs), settled=settled)

    async def settle(self, job_id: str) -> ReconciledJob | None:
        """One job, for operators: None if its row is final already; ``StillRunning`` if
        its workflow is still running."""
        job = await jobs_repo.get_job(db=self._db, job_id=job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            return None
        verdict = await self._verdict(job)
        if verdict is None:
            raise StillRunning(
                f"{job_id}'s workflow is still running and settles the job itself; "
                "cancel it (POST /v1/jobs/{id}/cancel, or Cancel in the Web UI) to stop it"
            )
        return await self._apply(job, verdict)

    async def _reconcile(self, job: Job) -> ReconciledJob | None:
        verdict = await self._verdict(job)
        return await self._apply(job, verdict) if verdict is not None else None

    async def _apply(self, job: Job, verdict: Verdict) -> ReconciledJob | None:
        settled = await jobs_repo.settle_if_not_final(
            db=self._db,
            job_id=job.id,
            status=verdict.status,
            error_code=verdict.error_code,
            error_message=JOB_ERROR_MESSAGES[verdict.error_code] if verdict.error_code else None,
            run_id=job.run_id,
            now=datetime.now(UTC),
        )
        if settled is None:
            return None
        return ReconciledJob(
            job_id=job.id,
            workflow_status=verdict.workflow_status,
            status=verdict.status,
            error_code=verdict.error_code,
        )

    async def _verdict(self, job: Job) -> Verdict | None:
        """How the job must be settled, judging by its workflow's current run; None while
        that run is open (or completed: then it settled the job itself)."""
        handle = self._client.get_workflow_handle(job.id)
        try:
            described = await handle.describe()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            now = datetime.now(UTC)
            if now - job.updated_at < NOT_FOUND_GRACE:
                return None
            return Verdict("NOT_FOUND", JobStatus.FAILED, JOB_TERMINATED)
        # The current run (a reset's new run once there is one): only one run of a job is
        # ever open, so when it is closed every earlier run is too.
        status = described.status
        if described.close_time is None:
            return None
        if status == WorkflowExecutionStatus.TERMINATED:
            return Verdict(status.name, JobStatus.FAILED, JOB_TERMINATED)
        if status == WorkflowExecutionStatus.TIMED_OUT:
            return Verdict(status.name, JobStatus.FAILED, JOB_TIMED_OUT)
        if status == WorkflowExecutionStatus.CANCELED:
            return Verdict(status.name, JobStatus.CANCELLED, None)
        if status == WorkflowExecutionStatus.FAILED:
            code = await _failure_type(self._client, job.id, described.run_id)
            return Verdict(status.name, JobStatus.FAILED, code)
        return None


async def _failure_type(client: Client, job_id: str, run_id: str) -> str:
    try:
        await client.get_workflow_handle(job_id, run_id=run_id).result(follow_runs=False)
    except WorkflowFailureError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type in JOB_ERROR_MESSAGES:
            return cause.type
    return GENERATION_FAILED


def reconciler_schedule_id(task_queue: str) -> str:
    return f"scripe-reconciler-{task_queue}"


async def ensure_reconciler_schedule(client: Client, task_queue: str) -> str:
    """Create the every-minute Schedule (or bring an existing one up to date): safe to call
    at every worker start. Returns its id (the Web UI lists it under Schedules)."""
    schedule_id = reconciler_schedule_id(task_queue)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ReconcileJobsWorkflow.run,
            ReconcileInput(),
            id=f"reconcile-jobs-{task_queue}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=RECONCILE_EVERY)]),
        # A pass that is still running when the next is due makes the next one unnecessary.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def updated(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(updated)
    return schedule_id
