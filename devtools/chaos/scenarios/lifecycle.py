"""Operators and customers stopping jobs in flight: workflows terminated mid-LLM-call (the
reconciler settles them), RUNNING jobs cancelled through the API."""

from __future__ import annotations

import asyncio
import statistics
import time

from sqlalchemy import select

from db.tables import Job
from devtools.chaos.context import Context
from devtools.chaos.report import Result
from devtools.chaos.scenarios.processes import CHECKED
from devtools.chaos.traffic import Submission, submit

# Inside the stack's 3 s LLM timeout, long enough to stop a job in its provider call.
CALL_LATENCY_MS = 2000
# The reconciler runs every minute; a pass takes well under a second.
SETTLED_WITHIN_S = 75.0


async def _in_call(ctx: Context, job_id: str, timeout: float = 60) -> bool:
    """Until the job's generation step has started (its attempt counted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with ctx.db.read() as session:
            job = await session.scalar(select(Job).where(Job.id == job_id))
        if job is not None and job.status == "RUNNING" and job.attempt_count > 0:
            return True
        if job is not None and job.status not in ("QUEUED", "RUNNING"):
            return False  # finished before it could be stopped
        await asyncio.sleep(0.1)
    return False


async def _until(ctx: Context, job_id: str, status: str, timeout: float) -> float | None:
    """Seconds until the row is ``status``, or None if it is not within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        async with ctx.db.read() as session:
            current = await session.scalar(select(Job.status).where(Job.id == job_id))
        if current == status:
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    return None


async def terminate_mid_call(ctx: Context) -> Result:
    jobs = 4 if ctx.short else 12
    result = Result(
        "Workflow terminated mid-LLM-call",
        f"`terminate` of the job's workflow (as from the Web UI or CLI) while its provider "
        f"call is in flight (live keys, fake LLM {CALL_LATENCY_MS / 1000:.0f} s latency); "
        "half the jobs are left to finish",
        f"{jobs // 2} of {jobs} jobs terminated",
        CHECKED + "; every terminated job settled FAILED job_terminated by the reconciler "
        f"Schedule within {SETTLED_WITHIN_S:.0f} s",
    )
    tenant = await ctx.tenant("chaos-terminate")
    await ctx.llm(latency_ms=CALL_LATENCY_MS)
    submissions: list[Submission] = []
    targets: list[str] = []
    waits = []
    for i in range(jobs):
        submission = await submit(ctx.http, tenant)
        submissions.append(submission)
        job_id = submission.job_id
        if i % 2 or job_id is None:
            continue
        targets.append(job_id)
        result.expect(await _in_call(ctx, job_id), f"{job_id} never started its call")
        await ctx.temporal.get_workflow_handle(job_id).terminate(reason="chaos: operator")
        waits.append(asyncio.create_task(_until(ctx, job_id, "FAILED", SETTLED_WITHIN_S + 30)))
    settled = await asyncio.gather(*waits)
    await ctx.llm(latency_ms=0)
    await ctx.expect_finished(result, submissions)
    found = await ctx.audit_into(result, tenant.workspace_id)
    seconds = [s for s in settled if s is not None]
    result.expect(len(seconds) == len(targets), "a terminated job was never settled")
    result.expect(
        all(s <= SETTLED_WITHIN_S for s in seconds),
        f"settled after {max(seconds, default=0):.0f} s",
    )
    result.expect(
        found.error_codes.get("job_terminated", 0) == len(targets),
        "not every terminated job is FAILED job_terminated",
    )
    result.figures.update(
        {
            "terminated": len(targets),
            "seconds from terminate to settled (median)": statistics.median(seconds or [0]),
            "seconds from terminate to settled (max)": max(seconds, default=0.0),
        }
    )
    return result


async def cancel_running(ctx: Context) -> Result:
    jobs = 4 if ctx.short else 12
    result = Result(
        "RUNNING jobs cancelled",
        "`POST /v1/jobs/{id}/cancel` while the job's provider call is in flight (live keys, "
        "a fake LLM that never answers: each attempt times out after 3 s and is retried); "
        "as many jobs again run afterwards with a healthy provider",
        f"{jobs // 2} of {jobs} jobs cancelled",
        CHECKED + "; every cancelled job CANCELLED, its workflow Canceled, nothing charged "
        "for the stopped call",
    )
    tenant = await ctx.tenant("chaos-cancel")
    await ctx.llm(fault_rate=1.0, faults=["hang"])
    submissions = [await submit(ctx.http, tenant) for _ in range(jobs // 2)]
    targets = [s.job_id for s in submissions if s.job_id]
    answers: dict[int, int] = {}
    answered_in: list[float] = []
    cancelled_in: list[float] = []
    for job_id in targets:
        result.expect(await _in_call(ctx, job_id), f"{job_id} never started its call")
        sent = time.monotonic()
        response = await ctx.http.post(f"/v1/jobs/{job_id}/cancel", headers=tenant.headers("live"))
        answered_in.append(time.monotonic() - sent)
        answers[response.status_code] = answers.get(response.status_code, 0) + 1
        result.expect(response.status_code in (200, 202), f"cancel answered {response.text}")
        waited = await _until(ctx, job_id, "CANCELLED", 60)
        result.expect(waited is not None, f"{job_id} never ended CANCELLED")
        cancelled_in.append(time.monotonic() - sent)
    await ctx.llm(latency_ms=0)
    submissions += [await submit(ctx.http, tenant) for _ in range(jobs - jobs // 2)]
    await ctx.expect_finished(result, submissions)
    found = await ctx.audit_into(result, tenant.workspace_id)
    result.expect(found.statuses.get("CANCELLED", 0) == len(targets), "not all CANCELLED")
    result.figures.update(
        {
            "cancelled": len(targets),
            "answers": answers,
            "seconds to answer (max)": max(answered_in, default=0.0),
            "seconds to CANCELLED (max)": max(cancelled_in, default=0.0),
        }
    )
    return result
