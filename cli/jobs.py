"""Operator commands on jobs: find them in Temporal by search attributes, show, retry,
and settle those whose workflow was stopped from outside."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from temporalio.client import Client
from temporalio.service import RPCError

from cli.common import JsonOption, database, emit, fail, run
from config import get_settings
from connections import connect_temporal
from contracts import JobMode, JobStatus, ReconcileInput
from db.repo import jobs as jobs_repo
from db.tables import Job
from domain.money import nanos_to_cents
from services.operator_jobs import (
    JobDetails,
    JobFilter,
    JobNotFound,
    JobRun,
    NotRetryable,
    OperatorJobs,
    Retried,
    checked_id,
)
from services.reconciliation import Reconciler, StillRunning

jobs_app = typer.Typer(
    help="Find, inspect, retry and settle jobs (Temporal search attributes, the job rows)."
)

T = TypeVar("T")
# REFUSED (a 402 admission, internal) is listed too: operators see it in `jobs list`.
STATUS_VALUES = [s.value for s in JobStatus]
STATUSES = ", ".join(STATUS_VALUES)
MODES = [m.value for m in JobMode]


async def temporal_client() -> Client:
    settings = get_settings()
    try:
        return await connect_temporal(settings)
    except RuntimeError as err:
        raise fail(f"Temporal is unreachable at {settings.temporal_address}: {err}") from err


async def operator_jobs() -> OperatorJobs:
    return OperatorJobs(client=await temporal_client(), ui_url=get_settings().temporal_ui_url)


def _run_operation(operation: Callable[[OperatorJobs], Awaitable[T]]) -> T:
    async def go() -> T:
        return await operation(await operator_jobs())

    try:
        return run(go())
    except (JobNotFound, NotRetryable, ValueError) as err:
        message = str(err)
    except RPCError as err:
        message = f"Temporal refused the request: {err}"
    finally:
        # Free the Temporal client now: left to interpreter shutdown (e.g. held by a
        # traceback's reference cycle), its native half aborts the process on exit.
        gc.collect()
    raise fail(message)


def run_dict(run: JobRun, jobs: OperatorJobs) -> dict[str, Any]:
    return {
        "jobId": run.job_id,
        "runId": run.run_id,
        "status": run.job_status,
        "executionStatus": run.execution_status,
        "stage": run.stage,
        "errorCode": run.memo.get("errorCode"),
        "errorMessage": run.memo.get("errorMessage"),
        "cause": run.memo.get("cause"),
        "workspaceId": run.workspace_id,
        "projectId": run.project_id,
        "mode": run.mode,
        "startedAt": run.started_at,
        "closedAt": run.closed_at,
        "uiUrl": jobs.ui_link(run.job_id, run.run_id),
    }


def customer_view(job: Job) -> dict[str, Any]:
    """What the customer's GET /v1/jobs/{id} is built from (the application database)."""
    return {
        "status": job.status,
        "errorCode": job.error_code,
        "errorMessage": job.error_message,
        "attemptCount": job.attempt_count,
        "postId": job.post_id,
        "estimateCents": nanos_to_cents(job.estimate_nanos),
        "actualCents": nanos_to_cents(job.actual_nanos),
        "updatedAt": job.updated_at,
    }


@jobs_app.command("list")
def list_jobs(
    workspace_id: str | None = typer.Option(None, "--workspace", help="WorkspaceId"),
    status: str | None = typer.Option(None, help=f"JobStatus: {STATUSES}"),
    project_id: str | None = typer.Option(None, "--project", help="ProjectId"),
    mode: str | None = typer.Option(None, help="JobMode: live or test"),
    limit: int = typer.Option(50, min=1, max=1000, help="At most this many jobs"),
    as_json: bool = JsonOption,
) -> None:
    """Jobs by workspace, status, project and mode, newest first (current runs only)."""
    if status is not None and status not in STATUS_VALUES:
        raise fail(f"--status is one of {STATUSES}")
    if mode is not None and mode not in MODES:
        raise fail("--mode is live or test")
    job_filter = JobFilter(
        workspace_id=workspace_id,
        project_id=project_id,
        status=JobStatus(status) if status else None,
        mode=mode,
    )

    async def find(jobs: OperatorJobs) -> list[dict[str, Any]]:
        return [run_dict(r, jobs) for r in await jobs.find(job_filter, limit=limit)]

    emit(_run_operation(find), as_json=as_json, text=_list_text)


def _list_text(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{r['jobId']}  {r['status'] or '-':<9} {r['mode'] or '-':<4}  {r['projectId'] or '-'}  "
        f"{r['startedAt']:%Y-%m-%d %H:%M:%S}  {r['stage'] or ''}"
        for r in rows
    ]
    return "\n".join(lines) or "(none)"


@jobs_app.command("show")
def show_job(job_id: str, as_json: bool = JsonOption) -> None:
    """A job: its current run (summary, stage, failure cause), its runs, what customers see."""

    async def show(jobs: OperatorJobs) -> dict[str, Any]:
        details = await jobs.show(job_id)
        async with database() as db:
            row = await jobs_repo.get_job(db=db, job_id=job_id)
        return _details_dict(details, jobs, customer_view(row) if row else None)

    emit(_run_operation(show), as_json=as_json, text=_show_text)


def _details_dict(
    details: JobDetails, jobs: OperatorJobs, customer: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        **run_dict(details.current, jobs),
        "stage": details.stage,
        "summary": details.summary,
        "details": details.details,
        "runs": [
            {
                "runId": r.run_id,
                "status": r.job_status,
                "executionStatus": r.execution_status,
                "startedAt": r.started_at,
                "closedAt": r.closed_at,
            }
            for r in details.runs
        ],
        "customer": customer,
        "uiUrl": details.ui_url,
    }


def _show_text(data: dict[str, Any]) -> str:
    lines = [
        f"{data['jobId']}  {data['status']}  ({data['executionStatus'].lower()} workflow)",
        f"  summary    {data['summary'] or '-'}",
        f"  stage      {data['stage'] or '-'}",
    ]
    if data["errorCode"]:
        lines.append(f"  error      {data['errorCode']}: {data['errorMessage']}")
        lines.append(f"  cause      {data['cause'] or '-'}")
    lines.append(f"  workspace  {data['workspaceId']} ({data['mode']} mode)")
    lines.append(f"  project    {data['projectId']}")
    customer = data["customer"]
    if customer:
        lines.append(
            f"  customer   {customer['status']}, attempts {customer['attemptCount']}, "
            f"cost {customer['actualCents']}¢ of {customer['estimateCents']}¢ reserved"
            + (f", post {customer['postId']}" if customer["postId"] else "")
        )
    lines.append(f"  runs       {len(data['runs'])} (newest first)")
    for r in data["runs"]:
        lines.append(
            f"    {r['runId']}  {r['status'] or '-':<9} {r['executionStatus'].lower():<10} "
            f"{r['startedAt']:%Y-%m-%d %H:%M:%S}"
        )
    lines.append(f"  web UI     {data['uiUrl']}")
    return "\n".join(lines)


@jobs_app.command("retry")
def retry_job(
    job_id: str,
    reason: str = typer.Option("operator retry", help="Recorded in the workflow history"),
    as_json: bool = JsonOption,
) -> None:
    """Retry a FAILED job: reset its workflow to the first workflow task (same job id)."""

    async def retry(jobs: OperatorJobs) -> Retried:
        return await jobs.retry(job_id, reason=reason)

    retried = _run_operation(retry)
    emit(
        {
            "jobId": retried.job_id,
            "failedRunId": retried.failed_run_id,
            "newRunId": retried.new_run_id,
            "uiUrl": retried.ui_url,
        },
        as_json=as_json,
        text=lambda d: (
            f"{d['jobId']} is running again as run {d['newRunId']} "
            f"(failed run {d['failedRunId']}).\n"
            "The customer sees it RUNNING, then DONE or FAILED; no second reservation.\n"
            f"Follow it: {d['uiUrl']}"
        ),
    )


@jobs_app.command("settle")
def settle_jobs(
    job_id: str | None = typer.Argument(None, help="The job; leave out with --all"),
    settle_all: bool = typer.Option(
        False, "--all", help="Every unfinished job whose workflow closed (the reconciler's pass)"
    ),
    as_json: bool = JsonOption,
) -> None:
    """Settle a job whose workflow was terminated, timed out or is gone: FAILED
    (job_terminated / job_timed_out) or CANCELLED, its open reservation released. The
    reconciler Schedule does the same every minute; a running workflow is left alone."""
    if (job_id is None) == (not settle_all):
        raise fail("give a job id or --all (not both)")

    async def go() -> list[dict[str, Any]]:
        client = await temporal_client()
        async with database() as db:
            reconciler = Reconciler(db=db, client=client)
            if job_id is None:
                result = await reconciler.run_pass(ReconcileInput())
                return [s.model_dump(mode="json") for s in result.settled]
            settled = await reconciler.settle(checked_id(job_id))
            return [settled.model_dump(mode="json")] if settled else []

    try:
        rows = run(go())
    except (StillRunning, LookupError, ValueError) as err:
        raise fail(str(err)) from err
    except RPCError as err:
        raise fail(f"Temporal refused the request: {err}") from err
    finally:
        gc.collect()
    emit(rows, as_json=as_json, text=_settled_text)


def _settled_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "Nothing to settle: the job is final already, or no closed workflow left one open."
    return "\n".join(
        f"{r['job_id']}  workflow {r['workflow_status'].lower()} → {r['status']}"
        + (f" ({r['error_code']})" if r["error_code"] else "")
        + "; open reservation released"
        for r in rows
    )
