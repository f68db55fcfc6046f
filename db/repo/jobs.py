"""Jobs: the registry the API writes first and the read model the workflow keeps current."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import JobStatus
from db.engine import Database
from db.repo import ledger
from db.repo._common import insert_ignore, lock_job, newest_first_after, rowcount
from db.repo.ledger import Hold, release_open_reservation
from db.repo.posts import PostDraft, store_post_for_job
from db.tables import Job, Project
from domain import job_lifecycle as lifecycle
from domain.errors import NotFoundError, StateConflict


def visible_to_customers() -> ColumnElement[bool]:
    """``lifecycle.is_visible`` as SQL: refused admissions never show; a QUEUED job shows
    once the API has answered for it."""
    shown = and_(*(Job.status != status for status in lifecycle.HIDDEN_STATUSES))
    waiting = and_(*(Job.status != status for status in lifecycle.SHOWN_ONCE_ACKNOWLEDGED))
    return shown & (waiting | Job.acknowledged.is_(True))


def is_visible(job: Job) -> bool:
    """The Python twin of :func:`visible_to_customers`."""
    return lifecycle.is_visible(job.status, job.acknowledged)


async def insert_job(
    *,
    db: Database,
    job_id: str,
    workspace_id: str,
    mode: str,
    type: str,
    project_id: str,
    idempotency_scope: str | None,
    idempotency_generation: int,
    fingerprint: str | None,
    workflow_input: dict[str, Any],
    estimate_nanos: int,
    now: datetime,
) -> Job | None:
    """Insert a QUEUED job and return it; None if its id or its (scope, generation) exists
    already (a concurrent duplicate was first)."""
    values: dict[str, Any] = {
        "id": job_id,
        "workspace_id": workspace_id,
        "mode": mode,
        "type": type,
        "project_id": project_id,
        "status": JobStatus.QUEUED.value,
        "acknowledged": False,
        "idempotency_scope": idempotency_scope,
        "idempotency_generation": idempotency_generation,
        "fingerprint": fingerprint,
        "workflow_input": workflow_input,
        "created_at": now,
        "updated_at": now,
        "attempt_count": 0,
        "estimate_nanos": estimate_nanos,
        "reserved_open_nanos": 0,
        "actual_nanos": 0,
    }
    async with db.write() as session:
        result = await session.execute(insert_ignore(session, Job, **values))
        await session.commit()
    if rowcount(result) != 1:
        return None
    # The row as inserted, without reading it back (the columns left out are all NULL).
    return Job(**values)


def _latest_for_scope(scope: str) -> Select[Job]:
    return (
        select(Job)
        .where(Job.idempotency_scope == scope)
        .order_by(Job.idempotency_generation.desc())
        .limit(1)
    )


async def project_and_latest_for_scope(
    *, db: Database, project_id: str, scope: str | None
) -> tuple[Project | None, Job | None]:
    """What a submission checks before it inserts: the project, and (with an
    Idempotency-Key) the newest job of the key's scope, in one session (one pool checkout).
    The two need not agree on a snapshot: they were two transactions before, and the
    insert after them settles a race on the key (``insert_job``)."""
    async with db.read_statement() as session:
        project = await session.get(Project, project_id)
        latest = None if scope is None else await session.scalar(_latest_for_scope(scope))
        return project, latest


async def get_job(*, db: Database, job_id: str) -> Job | None:
    async with db.read_statement() as session:
        return await session.get(Job, job_id)


# Built once: building the WHERE clause and its cache key per call was a fifth of the CPU
# of a GET /v1/jobs/{id} (BENCHMARKS.md); the values are bound at execution.
_VISIBLE_JOB = select(Job).where(
    (Job.id == bindparam("job_id"))
    & (Job.workspace_id == bindparam("workspace_id"))
    & (Job.mode == bindparam("mode"))
    & visible_to_customers()
)


async def get_visible_job(*, db: Database, job_id: str, workspace_id: str, mode: str) -> Job | None:
    async with db.read_statement() as session:
        return await session.scalar(
            _VISIBLE_JOB, {"job_id": job_id, "workspace_id": workspace_id, "mode": mode}
        )


async def list_jobs(
    *,
    db: Database,
    workspace_id: str,
    mode: str,
    types: Sequence[str] = (),
    statuses: Sequence[str] = (),
    project_id: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> list[Job]:
    """Newest first; ``after`` is the (created_at, id) of the last job of the previous page."""
    query = select(Job).where(
        (Job.workspace_id == workspace_id) & (Job.mode == mode) & visible_to_customers()
    )
    if types:
        query = query.where(Job.type.in_(types))
    if statuses:
        query = query.where(Job.status.in_(statuses))
    if project_id is not None:
        query = query.where(Job.project_id == project_id)
    if created_from is not None:
        query = query.where(Job.created_at >= created_from)
    if created_to is not None:
        query = query.where(Job.created_at <= created_to)
    query = query.where(newest_first_after(Job.created_at, Job.id, after))
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    async with db.read_statement() as session:
        return list(await session.scalars(query))


async def acknowledge(*, db: Database, job_id: str, now: datetime) -> Job | None:
    """Mark a job as answered-for (202 QUEUED) unless its admission was refused already;
    the row as it is then (REFUSED if the refusal won the race)."""
    async with db.write() as session:
        # UPDATE … RETURNING: the row comes back with the update, in its transaction.
        job = await session.scalar(
            update(Job)
            .where((Job.id == job_id) & (Job.status != JobStatus.REFUSED))
            .values(acknowledged=True, updated_at=now)
            .returning(Job)
            .execution_options(synchronize_session=False)
        )
        if job is None:  # refused already (or no such row): read it as it is
            job = await session.get(Job, job_id)
        await session.commit()
        return job


async def cancel_if_queued(
    *, db: Database, job_id: str, workspace_id: str, mode: str, now: datetime
) -> tuple[bool, Job | None]:
    """QUEUED → CANCELLED atomically. Admission takes the same row lock, so exactly one of
    "cancelled" and "admitted" wins; a QUEUED job holds no reservation, so nothing is owed."""
    async with db.write() as session:
        job = await lock_job(session, job_id)
        if job is None or job.workspace_id != workspace_id or job.mode != mode:
            return False, None
        if job.status not in lifecycle.CANCELLABLE_STATUSES or not job.acknowledged:
            return False, job
        job.status = JobStatus.CANCELLED
        job.acknowledged = True
        job.completed_at = job.updated_at = now
        job.progress = job.progress_message = None
        await release_open_reservation(session, job=job, now=now)
        await session.commit()
        return True, job


class JobAlreadyFinished(StateConflict):
    """The job row is final (DONE, FAILED, CANCELLED, REFUSED) or owned by another run: the
    caller must not work on it."""

    def __init__(self, *, job_id: str, status: str, post_id: str | None) -> None:
        super().__init__(f"job {job_id} is {status}")
        self.status = status
        self.post_id = post_id


# One statement for the attempt's bookkeeping, built once: it moves only a row of this
# run that is QUEUED or RUNNING, and returns what the hold needs, so the usual attempt is
# BEGIN, this UPDATE and COMMIT (the ORM's SELECT, flush and identity map were half of it).
_START_ATTEMPT = (
    update(Job)
    .where(
        (Job.id == bindparam("b_job_id"))
        & (Job.run_id == bindparam("b_run_id"))
        & Job.status.in_([status.value for status in lifecycle.OPEN_JOB_STATUSES])
    )
    .values(
        attempt_count=Job.attempt_count + 1,
        status=JobStatus.RUNNING.value,
        completed_at=None,
        error_code=None,
        error_message=None,
        progress=lifecycle.WRITING.progress,
        progress_message=bindparam("b_message", type_=Job.__table__.c.progress_message.type),
        updated_at=bindparam("b_now", type_=Job.__table__.c.updated_at.type),
    )
    .returning(Job.attempt_count, Job.spend_day, Job.reserved_open_nanos)
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True)
class StartedCall:
    """An attempt counted and shown RUNNING, with the hold made for its call."""

    attempt: int
    hold: Hold


async def _count_attempt(
    session: AsyncSession, *, job_id: str, run_id: str, message: str, now: datetime
) -> tuple[int, date | None, int]:
    """Count the attempt (attempt number, spend day, open reservation), or raise why not."""
    row = (
        await session.execute(
            _START_ATTEMPT,
            {"b_job_id": job_id, "b_run_id": run_id, "b_message": message, "b_now": now},
        )
    ).one_or_none()
    if row is not None:
        return int(row[0]), row[1], int(row[2])
    job = await lock_job(session, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist")
    raise JobAlreadyFinished(job_id=job_id, status=job.status, post_id=job.post_id)


async def start_attempt(
    *, db: Database, job_id: str, run_id: str, message: str, now: datetime
) -> int:
    """Count one run of the generation step and show the job RUNNING.

    Only a row of this run (``job.run_id``, set by its admission) that is QUEUED or
    RUNNING moves; anything else raises ``JobAlreadyFinished``: a late attempt of a run an
    operator reset, or a reset that did not admit again, never reopens a finished job.
    """
    async with db.write() as session:
        attempt, _, _ = await _count_attempt(
            session, job_id=job_id, run_id=run_id, message=message, now=now
        )
        await session.commit()
        return attempt


async def start_call(
    *,
    db: Database,
    job_id: str,
    run_id: str,
    message: str,
    hold_key: str,
    day: date,
    worst_case_nanos: int,
    now: datetime,
) -> StartedCall:
    """:func:`start_attempt` and the call's hold (:func:`ledger.hold_in`) in one write
    transaction.

    The attempt is counted first, under the same rules (``JobAlreadyFinished`` changes
    nothing). When the worst case does not fit, the attempt's bookkeeping and the release
    of what the job held are committed together, then ``CapExceeded`` is raised: the
    same rows as the two transactions left before (the workflow then settles it FAILED).
    """
    async with db.write() as session:
        attempt, spend_day, held = await _count_attempt(
            session, job_id=job_id, run_id=run_id, message=message, now=now
        )
        if ledger.hold_suffices(
            spend_day=spend_day, held_nanos=held, day=day, worst_case_nanos=worst_case_nanos
        ):
            # The usual attempt: the admission's estimate covers the call.
            await session.commit()
            return StartedCall(attempt=attempt, hold=Hold(day=day, held_nanos=held, added_nanos=0))
        job = await lock_job(session, job_id)
        assert job is not None  # counted above, in this transaction
        try:
            hold = await ledger.hold_in(
                session,
                job=job,
                key=hold_key,
                day=day,
                worst_case_nanos=worst_case_nanos,
                now=now,
            )
        except ledger.CapExceeded:
            await session.commit()
            raise
        await session.commit()
        return StartedCall(attempt=attempt, hold=hold)


async def set_progress(
    *, db: Database, job_id: str, progress: float, message: str, now: datetime
) -> None:
    async with db.write() as session:
        await session.execute(
            update(Job)
            .where((Job.id == job_id) & (Job.status == JobStatus.RUNNING))
            .values(progress=progress, progress_message=message, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def finish_job(
    *,
    db: Database,
    job_id: str,
    status: JobStatus,
    error_code: str | None,
    error_message: str | None,
    now: datetime,
    post: PostDraft | None = None,
    also: Callable[[AsyncSession, Job], Awaitable[None]] | None = None,
) -> Job:
    """Settle a job, in one transaction: store its post (if it has one), release what its
    reservation still holds, and record the outcome. A job is DONE exactly when its post
    is stored and its spend settled.

    Settling again the same way is a no-op (a retried step). A job DONE with its post is
    never turned FAILED or CANCELLED, and a FAILED or CANCELLED job never DONE, by a late
    or superseded run: that raises ``JobAlreadyFinished`` and changes nothing.

    ``also`` runs in the same transaction before the commit: a read the caller needs from
    the same snapshot (the workflow's "does any webhook endpoint want these events").
    """
    async with db.write() as session:
        job = await _locked_for_settling(session, job_id)
        if not _may_settle(job, status):
            raise JobAlreadyFinished(job_id=job.id, status=job.status, post_id=job.post_id)
        await _settle(
            session,
            job=job,
            status=status,
            error_code=error_code,
            error_message=error_message,
            now=now,
            post=post,
            also=also,
        )
        await session.commit()
        return job


@dataclass(frozen=True)
class ChargedJob:
    """What :func:`charge_and_finish` did: ``booked``, whether the charge was booked now
    (False: booked already, or none to book); ``finished``, whether the job was settled
    DONE (False: the row was final already, and ``job`` is as it stands)."""

    job: Job
    booked: bool
    finished: bool


async def charge_and_finish(
    *,
    db: Database,
    job_id: str,
    charge: ledger.Charge | None,
    post: PostDraft,
    now: datetime,
    also: Callable[[AsyncSession, Job], Awaitable[None]] | None = None,
) -> ChargedJob:
    """Book the call that wrote the post, store the post and settle the job DONE: the
    generation step's last write, one transaction instead of two (:func:`ledger.record_charge`
    then :func:`finish_job`), under the rules of both.

    A billed call stays charged whatever the job's state: when the row cannot be settled
    DONE (a cancel or a superseded run finished it first) the charge alone is committed
    and ``finished`` is False.
    """
    async with db.write() as session:
        job = await _locked_for_settling(session, job_id)
        booked = charge is not None and await ledger.book_charge(
            session, job=job, charge=charge, now=now
        )
        finished = _may_settle(job, JobStatus.DONE)
        if finished:
            await _settle(
                session,
                job=job,
                status=JobStatus.DONE,
                error_code=None,
                error_message=None,
                now=now,
                post=post,
                also=also,
            )
        await session.commit()
        return ChargedJob(job=job, booked=booked, finished=finished)


async def _locked_for_settling(session: AsyncSession, job_id: str) -> Job:
    """The job row, locked, in a session without autoflush: the row's changes go out as
    one UPDATE at the commit, not one before each later statement of the transaction
    (none of which reads the row)."""
    session.sync_session.autoflush = False
    job = await lock_job(session, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist")
    return job


def _may_settle(job: Job, status: JobStatus) -> bool:
    """Whether ``job`` may be settled ``status`` (``lifecycle.settlement_conflicts``)."""
    return not lifecycle.settlement_conflicts(
        current=job.status, has_post=job.post_id is not None, target=status
    )


async def _settle(
    session: AsyncSession,
    *,
    job: Job,
    status: JobStatus,
    error_code: str | None,
    error_message: str | None,
    now: datetime,
    post: PostDraft | None,
    also: Callable[[AsyncSession, Job], Awaitable[None]] | None,
) -> None:
    if post is not None:
        job.post_id = await store_post_for_job(session, job_id=job.id, draft=post, now=now)
    await release_open_reservation(session, job=job, now=now)
    job.status = status
    job.error_code, job.error_message = error_code, error_message
    job.progress = job.progress_message = None
    job.completed_at = job.updated_at = now
    if also is not None:
        await also(session, job)


async def recent_durations_ms(*, db: Database, limit: int = 50) -> list[float]:
    """Creation-to-completion times of the latest DONE jobs, for completion estimates."""
    async with db.read() as session:
        rows = await session.execute(
            select(Job.created_at, Job.completed_at)
            .where((Job.status == JobStatus.DONE) & Job.completed_at.is_not(None))
            .order_by(Job.completed_at.desc())
            .limit(limit)
        )
        return [
            (done - created).total_seconds() * 1000 for created, done in rows if done is not None
        ]


# --- the reconciler: jobs whose workflow closed without settling them -----------------------


async def list_unfinished(*, db: Database, limit: int) -> list[Job]:
    """Jobs a workflow still owes a settlement: RUNNING, or QUEUED once answered for (an
    unacknowledged QUEUED row is a request still being admitted, or one answered 503)."""
    async with db.read() as session:
        rows = await session.scalars(
            select(Job)
            .where(
                (Job.status == JobStatus.RUNNING)
                | ((Job.status == JobStatus.QUEUED) & Job.acknowledged.is_(True))
            )
            .order_by(Job.updated_at)
            .limit(limit)
        )
        return list(rows)


async def settle_if_not_final(
    *,
    db: Database,
    job_id: str,
    status: JobStatus,
    error_code: str | None,
    error_message: str | None,
    run_id: str | None,
    now: datetime,
) -> Job | None:
    """Settle a job its workflow left unsettled (FAILED or CANCELLED, its open reservation
    released, billed calls kept), in one transaction with the row locked. Nothing happens
    (None) if the row is final already, or if its ``run_id`` is no longer the one the
    caller saw (a new run, e.g. an operator's reset, has admitted the job since)."""
    async with db.write() as session:
        job = await lock_job(session, job_id)
        if job is None or job.status not in lifecycle.OPEN_JOB_STATUSES:
            return None
        if job.run_id != run_id:
            return None
        await release_open_reservation(session, job=job, now=now)
        job.status = status
        job.acknowledged = True
        job.error_code, job.error_message = error_code, error_message
        job.progress = job.progress_message = None
        job.completed_at = job.updated_at = now
        await session.commit()
        return job
