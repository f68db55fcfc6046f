"""What must hold after any fault: checked from the application database and Temporal.

* every job the customer knows ends DONE or FAILED (or CANCELLED when it was cancelled),
  a FAILED job with a documented ``errorCode``;
* every finished job's reservation is settled or released (``reserved_open_nanos == 0``),
  each bucket's ``reserved`` is the sum of its jobs' open reservations and its ``spent``
  the sum of its charges, and ``spent + reserved`` is within the workspace's daily cap;
* no job has two posts, no charge key appears twice, a job's actual cost is its charges;
* every job's workflow is closed in Temporal and ended as the row says (completed with the
  row's outcome; failed with the row's errorCode as failure type; canceled for CANCELLED;
  terminated / timed out for a row the reconciler settled FAILED job_terminated /
  job_timed_out).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from contracts import JOB_ERROR_MESSAGES, JOB_TERMINATED, JOB_TIMED_OUT, JobStatus
from db.engine import Database
from db.tables import Job, Post, SpendBucket, SpendEntry, Workspace
from domain.plans import Plan, effective_cap_nanos
from workflows.post_generation import PostGenerationWorkflow

FINAL = {JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REFUSED}


@dataclass
class Audit:
    jobs: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    charges: int = 0
    charged_nanos: int = 0
    attempts: int = 0
    unadmitted_rows: int = 0  # QUEUED, never acknowledged, no workflow: a 503'd request
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def fail(self, message: str) -> None:
        if len(self.violations) < 50:
            self.violations.append(message)


async def audit(db: Database, temporal: Client, workspace_ids: Iterable[str]) -> Audit:
    """Check every invariant for the jobs of ``workspace_ids``."""
    workspaces = list(workspace_ids)
    result = Audit()
    async with db.read() as session:
        jobs = list(await session.scalars(select(Job).where(Job.workspace_id.in_(workspaces))))
        posts = list(await session.scalars(select(Post).where(Post.workspace_id.in_(workspaces))))
        entries = list(
            await session.scalars(select(SpendEntry).where(SpendEntry.workspace_id.in_(workspaces)))
        )
        buckets = list(
            await session.scalars(
                select(SpendBucket).where(SpendBucket.workspace_id.in_(workspaces))
            )
        )
        caps = {
            w.id: effective_cap_nanos(Plan(w.plan), w.daily_cap_cents)
            for w in await session.scalars(select(Workspace).where(Workspace.id.in_(workspaces)))
        }
    posts_by_job = Counter(p.job_id for p in posts)
    by_job: dict[str, list[SpendEntry]] = defaultdict(list)
    for entry in entries:
        by_job[entry.job_id].append(entry)
    keys = Counter(e.key for e in entries)
    for key, count in keys.items():
        if count > 1:
            result.fail(f"ledger key {key} booked {count} times")

    for job in jobs:
        if job.status == JobStatus.QUEUED and not job.acknowledged:
            if await _workflow_status(temporal, job.id) is None:
                result.unadmitted_rows += 1
                continue
        result.jobs += 1
        result.statuses[job.status] += 1
        result.attempts += job.attempt_count
        _check_job(result, job, by_job[job.id], posts_by_job[job.id])
        await _check_workflow(result, temporal, job)

    _check_buckets(result, jobs, entries, buckets)
    check_caps(result, buckets, caps)
    charges = [e for e in entries if e.kind == "charge"]
    result.charges = len(charges)
    result.charged_nanos = sum(e.amount_nanos for e in charges)
    return result


def _check_job(result: Audit, job: Job, entries: list[SpendEntry], post_count: int) -> None:
    status = JobStatus(job.status)
    if status not in FINAL:
        result.fail(f"{job.id} is still {status}")
        return
    if status is JobStatus.FAILED or status is JobStatus.REFUSED:
        result.error_codes[job.error_code or "-"] += 1
        if job.error_code not in JOB_ERROR_MESSAGES:
            result.fail(f"{job.id} FAILED with undocumented code {job.error_code!r}")
    if job.reserved_open_nanos != 0:
        result.fail(f"{job.id} ({status}) still holds {job.reserved_open_nanos} nanos")
    if post_count > 1:
        result.fail(f"{job.id} has {post_count} posts")
    if status is JobStatus.DONE and (post_count != 1 or job.post_id is None):
        result.fail(f"{job.id} is DONE with {post_count} posts")
    if status is not JobStatus.DONE and post_count:
        result.fail(f"{job.id} is {status} but has a post")
    kinds = Counter(e.kind for e in entries)
    # A job reserves at admission, tops its hold up before a call when the estimate does
    # not cover the call's worst case, and again after a retry or reset of a released job;
    # each release gives back what one of those left.
    if kinds["release"] > kinds["reserve"]:
        result.fail(f"{job.id} has {dict(kinds)} ledger entries")
    charged = sum(e.amount_nanos for e in entries if e.kind == "charge")
    if charged != job.actual_nanos:
        result.fail(f"{job.id} actual {job.actual_nanos} != charges {charged}")
    reserved = sum(e.amount_nanos for e in entries if e.kind == "reserve")
    released = sum(e.amount_nanos for e in entries if e.kind == "release")
    if reserved and released != max(reserved - charged, 0):
        result.fail(f"{job.id} reserved {reserved}, charged {charged}, released {released}")
    # A job cancelled while QUEUED, or refused, never reserved; one cancelled while RUNNING
    # did, and keeps what was billed (checked above: the rest was released).
    if status is JobStatus.REFUSED and (reserved or charged):
        result.fail(f"{job.id} is {status} but reserved {reserved} / charged {charged}")


def _check_buckets(
    result: Audit, jobs: list[Job], entries: list[SpendEntry], buckets: list[SpendBucket]
) -> None:
    open_by_bucket: Counter[tuple[str, str, object]] = Counter()
    for job in jobs:
        if job.spend_day is not None:
            open_by_bucket[(job.workspace_id, job.mode, job.spend_day)] += job.reserved_open_nanos
    spent_by_bucket: Counter[tuple[str, str, object]] = Counter()
    for entry in entries:
        if entry.kind == "charge":
            spent_by_bucket[(entry.workspace_id, entry.mode, entry.day)] += entry.amount_nanos
    for bucket in buckets:
        key = (bucket.workspace_id, bucket.mode, bucket.day)
        if bucket.reserved_nanos != open_by_bucket[key]:
            result.fail(f"bucket {key}: reserved {bucket.reserved_nanos} != {open_by_bucket[key]}")
        if bucket.spent_nanos != spent_by_bucket[key]:
            result.fail(f"bucket {key}: spent {bucket.spent_nanos} != {spent_by_bucket[key]}")


def check_caps(result: Audit, buckets: Iterable[SpendBucket], caps: dict[str, int | None]) -> None:
    """The promise customers pay for: no (workspace, mode, UTC day) bucket ever holds and
    spends more than the workspace's daily cap (None: unlimited)."""
    for bucket in buckets:
        cap = caps.get(bucket.workspace_id)
        total = bucket.spent_nanos + bucket.reserved_nanos
        if cap is not None and total > cap:
            key = (bucket.workspace_id, bucket.mode, bucket.day)
            result.fail(f"bucket {key}: spent + reserved {total} > cap {cap}")


async def _workflow_status(temporal: Client, job_id: str) -> WorkflowExecutionStatus | None:
    try:
        described = await temporal.get_workflow_handle(job_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return described.status


# How a closed workflow's state must match its job row (besides COMPLETED, whose result is
# the outcome): a FAILED job fails its workflow with its errorCode as the failure type; a
# cancelled RUNNING job's workflow ends Canceled; a workflow stopped from outside leaves the
# reconciler to settle its row FAILED with the matching code.
_CLOSED_AS = {
    WorkflowExecutionStatus.CANCELED: (JobStatus.CANCELLED, None),
    WorkflowExecutionStatus.TERMINATED: (JobStatus.FAILED, JOB_TERMINATED),
    WorkflowExecutionStatus.TIMED_OUT: (JobStatus.FAILED, JOB_TIMED_OUT),
}


async def _check_workflow(result: Audit, temporal: Client, job: Job) -> None:
    status = await _workflow_status(temporal, job.id)
    if status is None:
        result.fail(f"{job.id} ({job.status}) has no workflow")
        return
    handle = temporal.get_workflow_handle_for(PostGenerationWorkflow.run, job.id)
    if status == WorkflowExecutionStatus.COMPLETED:
        outcome = await handle.result()
        if outcome.status != job.status:
            result.fail(f"{job.id} workflow ended {outcome!r}, row is {job.status}")
    elif status == WorkflowExecutionStatus.FAILED:
        try:
            await handle.result()
        except WorkflowFailureError as err:
            failure_type = getattr(err.cause, "type", None)
            if job.status != JobStatus.FAILED or failure_type != job.error_code:
                result.fail(f"{job.id} workflow failed {failure_type}, row is {job.status}")
    elif status in _CLOSED_AS:
        if (job.status, job.error_code) != _CLOSED_AS[status]:
            result.fail(f"{job.id} workflow is {status.name}, row is {job.status}")
    else:
        result.fail(f"{job.id} workflow is {status.name}, row is {job.status}")
