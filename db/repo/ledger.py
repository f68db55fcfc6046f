"""The AI-spend ledger: per (workspace, mode, UTC day) buckets and keyed entries.

Invariants, kept by doing every movement in one transaction with the job row locked:

* a job holds its open reservation (``job.reserved_open_nanos``) in exactly one bucket, the
  one of ``job.spend_day`` (the day of its admission, or of its latest provider call when
  that was later: the hold moves with the call);
* ``bucket.reserved_nanos`` is the sum of ``job.reserved_open_nanos`` of the jobs holding
  in that bucket;
* ``bucket.spent_nanos`` is the sum of the bucket's ``charge`` entries; a charge is booked
  to the UTC day its call was made;
* ``spent + reserved <= cap`` for every bucket at all times: every increase of
  ``reserved`` is one conditional UPDATE (admission, and the top-up before each call to the
  worst case of that call), and a charge is taken from the hold made for its call;
* an entry's ``key`` is unique, so a retried, duplicated or replayed movement is a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import SPEND_CAP_EXCEEDED, Admission, JobStatus, SpendRefusal
from db.engine import Database
from db.repo._common import insert_ignore_statements, lock_job, rowcount
from db.tables import Job, SpendBucket, SpendEntry, Workspace
from domain.errors import NotFoundError, PolicyRefusal
from domain.job_lifecycle import ADMITTED, admission_of, customer_message
from domain.plans import Plan, effective_cap_nanos

log = logging.getLogger("scripe.ledger")


class CapExceeded(PolicyRefusal):
    """The worst case of a provider call does not fit under the day's cap."""

    def __init__(self, refusal: SpendRefusal) -> None:
        super().__init__(f"spend cap reached on {refusal.bucket_date}")
        self.refusal = refusal


@dataclass(frozen=True)
class Hold:
    """What a job holds for its next call, and in which day's bucket."""

    day: date
    held_nanos: int
    added_nanos: int


# The statements of every job's movements, built once (the pattern of
# ``jobs.get_visible_job``): building a WHERE clause and its cache key per call was most of
# a small statement's CPU. The values are bound at execution; Core statements on the
# tables, since none of them loads an ORM object.
_ENTRY_BY_KEY = select(SpendEntry.id).where(SpendEntry.key == bindparam("key"))
_RELEASES_OF_JOB = (
    select(func.count())
    .select_from(SpendEntry)
    .where((SpendEntry.job_id == bindparam("job_id")) & (SpendEntry.kind == "release"))
)
_BUCKETS = cast(Table, SpendBucket.__table__)
_ENTRIES = cast(Table, SpendEntry.__table__)
_NEW_BUCKET = insert_ignore_statements(_BUCKETS)
_NEW_ENTRY = insert_ignore_statements(_ENTRIES)
_BUCKET_KEY = (
    (_BUCKETS.c.workspace_id == bindparam("b_workspace_id"))
    & (_BUCKETS.c.mode == bindparam("b_mode"))
    & (_BUCKETS.c.day == bindparam("b_day", type_=_BUCKETS.c.day.type))
)
_NOW = bindparam("b_now", type_=_BUCKETS.c.updated_at.type)
_MOVE = (
    update(_BUCKETS)
    .where(_BUCKET_KEY)
    .values(
        reserved_nanos=_BUCKETS.c.reserved_nanos + bindparam("b_reserved", type_=BigInteger()),
        spent_nanos=_BUCKETS.c.spent_nanos + bindparam("b_spent", type_=BigInteger()),
        updated_at=_NOW,
    )
)
_ADDED = bindparam("b_added", type_=BigInteger())
# The admission's conditional UPDATE: with a cap, it only matches while the sum fits.
_RESERVE_UNDER_CAP = (
    update(_BUCKETS)
    .where(
        _BUCKET_KEY
        & (
            _BUCKETS.c.spent_nanos + _BUCKETS.c.reserved_nanos + _ADDED
            <= bindparam("b_cap", type_=BigInteger())
        )
    )
    .values(reserved_nanos=_BUCKETS.c.reserved_nanos + _ADDED, updated_at=_NOW)
)
_RESERVE_UNCAPPED = (
    update(_BUCKETS)
    .where(_BUCKET_KEY)
    .values(reserved_nanos=_BUCKETS.c.reserved_nanos + _ADDED, updated_at=_NOW)
)
_BUCKET_TOTALS = select(_BUCKETS.c.spent_nanos, _BUCKETS.c.reserved_nanos).where(_BUCKET_KEY)


async def _ensure_bucket(
    session: AsyncSession, *, workspace_id: str, mode: str, day: date, now: datetime
) -> None:
    await session.execute(
        _NEW_BUCKET[session.get_bind().dialect.name],
        {
            "workspace_id": workspace_id,
            "mode": mode,
            "day": day,
            "reserved_nanos": 0,
            "spent_nanos": 0,
            "updated_at": now,
        },
    )


def reserve_key(job_id: str, run_id: str) -> str:
    """One admission per run: a retried activity or replayed update finds it; a run
    started after the earlier reservation was released (an operator retry or reset)
    reserves again."""
    return f"{job_id}:reserve:{run_id}"


async def _release_key(session: AsyncSession, job_id: str) -> str:
    """A fresh key per release of one job (under its row lock: no race)."""
    count = await session.scalar(_RELEASES_OF_JOB, {"job_id": job_id})
    return f"{job_id}:release:{int(count or 0) + 1}"


async def reserve(
    *,
    db: Database,
    job_id: str,
    run_id: str,
    workspace_id: str,
    mode: str,
    day: date,
    estimate_nanos: int,
    now: datetime,
) -> Admission:
    """Admit a job by reserving its estimate against ``day``'s cap.

    A cancelled job is not admitted. A job DONE with its post (an operator reset of a
    finished job) is ``finished``: nothing is reserved, nothing will be written. A job that
    still holds a reservation (a retried activity, a replayed update, a reset while it
    held) is admitted again without a second one; a job whose reservation was released (a
    retry or reset of a FAILED job) reserves again, like a new admission.
    """
    async with db.write() as session:
        job = await lock_job(session, job_id)
        admission = admission_of(
            job.status if job else None, has_post=job is not None and job.post_id is not None
        )
        if job is None or admission == "cancelled":
            return Admission(outcome="cancelled", job_status=JobStatus.CANCELLED)
        if admission == "finished":
            return Admission(outcome="finished", job_status=JobStatus.DONE, post_id=job.post_id)
        existing = await session.scalar(_ENTRY_BY_KEY, {"key": reserve_key(job_id, run_id)})
        if existing is None and job.reserved_open_nanos <= 0:
            refusal = await _reserve_in_bucket(
                session,
                workspace_id=workspace_id,
                mode=mode,
                day=day,
                estimate_nanos=estimate_nanos,
                now=now,
            )
            if refusal is not None:
                # Hidden if the caller is still waiting (it answers 402); a failed job if
                # the API already answered 202 with this job's id.
                job.status = JobStatus.FAILED if job.acknowledged else JobStatus.REFUSED
                job.refusal = refusal.model_dump(mode="json")
                job.error_code = SPEND_CAP_EXCEEDED
                job.error_message = customer_message(SPEND_CAP_EXCEEDED)
                job.completed_at = job.updated_at = now
                await session.commit()
                return Admission(
                    outcome="refused", job_status=JobStatus(job.status), refusal=refusal
                )
            session.add(
                SpendEntry(
                    key=reserve_key(job_id, run_id),
                    workspace_id=workspace_id,
                    mode=mode,
                    day=day,
                    job_id=job_id,
                    kind="reserve",
                    amount_nanos=estimate_nanos,
                    details={"run_id": run_id},
                    created_at=now,
                )
            )
            job.spend_day = day
            job.estimate_nanos = estimate_nanos
            job.reserved_open_nanos = estimate_nanos
        job.status = JobStatus.RUNNING
        job.run_id = run_id
        job.started_at = job.started_at or now
        job.completed_at = None
        job.error_code = job.error_message = None
        job.refusal = None
        job.progress, job.progress_message = ADMITTED.progress, ADMITTED.message
        job.updated_at = now
        await session.commit()
        return Admission(outcome="accepted", job_status=JobStatus.RUNNING)


def hold_suffices(
    *, spend_day: date | None, held_nanos: int, day: date, worst_case_nanos: int
) -> bool:
    """The job's hold covers the call already: nothing to reserve, nothing to write."""
    return spend_day == day and held_nanos >= max(worst_case_nanos, 1)


async def hold_in(
    session: AsyncSession,
    *,
    job: Job,
    key: str,
    day: date,
    worst_case_nanos: int,
    now: datetime,
) -> Hold:
    """Make ``job`` (locked by the caller) hold at least ``worst_case_nanos`` in ``day``'s
    bucket before a call, inside the caller's transaction (``jobs.start_call``).

    The missing part is reserved with the admission's conditional UPDATE. A hold in an
    earlier day's bucket (a call after midnight UTC, a reset on a later day) moves: the
    call day reserves the whole worst case and the earlier bucket gets its hold back, in
    the same transaction. When the worst case does not fit, nothing is reserved, what the
    job held is released and ``CapExceeded`` is raised; the caller commits that release
    (no call will be made) before passing the refusal on. The usual case, a hold that
    suffices already (:func:`hold_suffices`), needs no call here at all.
    """
    existing = await session.scalar(_ENTRY_BY_KEY, {"key": key})
    same_day = job.spend_day == day and job.reserved_open_nanos > 0
    if existing is not None or (same_day and job.reserved_open_nanos >= worst_case_nanos):
        return Hold(day=day, held_nanos=job.reserved_open_nanos, added_nanos=0)
    added = worst_case_nanos - job.reserved_open_nanos if same_day else worst_case_nanos
    refusal = await _reserve_in_bucket(
        session,
        workspace_id=job.workspace_id,
        mode=job.mode,
        day=day,
        estimate_nanos=added,
        now=now,
    )
    if refusal is not None:
        await release_open_reservation(session, job=job, now=now)
        job.updated_at = now
        raise CapExceeded(refusal)
    if not same_day:
        await release_open_reservation(session, job=job, now=now, reason="moved")
    session.add(
        SpendEntry(
            key=key,
            workspace_id=job.workspace_id,
            mode=job.mode,
            day=day,
            job_id=job.id,
            kind="reserve",
            amount_nanos=added,
            details={"worst_case_nanos": worst_case_nanos, "top_up": True},
            created_at=now,
        )
    )
    job.spend_day = day
    job.reserved_open_nanos = worst_case_nanos
    job.updated_at = now
    return Hold(day=day, held_nanos=worst_case_nanos, added_nanos=added)


async def _reserve_in_bucket(
    session: AsyncSession,
    *,
    workspace_id: str,
    mode: str,
    day: date,
    estimate_nanos: int,
    now: datetime,
) -> SpendRefusal | None:
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError(f"workspace {workspace_id} does not exist")
    cap = effective_cap_nanos(Plan(workspace.plan), workspace.daily_cap_cents)
    key = {"b_workspace_id": workspace_id, "b_mode": mode, "b_day": day}
    values = {**key, "b_added": estimate_nanos, "b_now": now}
    if cap is not None:
        values["b_cap"] = cap
    statement = _RESERVE_UNCAPPED if cap is None else _RESERVE_UNDER_CAP
    # The day's bucket exists but for the day's first job: the conditional UPDATE first,
    # and only when it matched nothing the bucket is made (if missing) and it runs again.
    # Either way the one conditional UPDATE that matches is what keeps the cap.
    if rowcount(await session.execute(statement, values)) == 1:
        return None
    await _ensure_bucket(session, workspace_id=workspace_id, mode=mode, day=day, now=now)
    if rowcount(await session.execute(statement, values)) == 1:
        return None
    spent, reserved = (await session.execute(_BUCKET_TOTALS, key)).one()
    return SpendRefusal(
        bucket_date=day,
        cap_nanos=cap or 0,
        spent_nanos=spent + reserved,
        estimate_nanos=estimate_nanos,
    )


@dataclass(frozen=True)
class Charge:
    """One billed provider call, to book under ``key`` to ``day`` (its UTC day)."""

    key: str
    cost_nanos: int
    details: dict[str, Any]
    day: date


async def record_charge(
    *,
    db: Database,
    job_id: str,
    key: str,
    cost_nanos: int,
    details: dict[str, Any],
    now: datetime,
    day: date | None = None,
) -> bool:
    """Book one billed provider call to ``day``, the UTC day it was made (default: the
    day of ``now``). Returns False if ``key`` was booked already.

    The cost is taken from the job's hold in that day's bucket (made for this call by
    :func:`hold_in`). A billed call is booked whatever it cost: what exceeds the hold
    (a provider billing past its own worst case) is spent on top, and logged.
    """
    charge = Charge(key=key, cost_nanos=cost_nanos, details=details, day=day or now.date())
    async with db.write() as session:
        job = await lock_job(session, job_id)
        if job is None:
            raise NotFoundError(f"job {job_id} does not exist")
        if not await book_charge(session, job=job, charge=charge, now=now):
            await session.rollback()
            return False
        await session.commit()
        return True


async def book_charge(session: AsyncSession, *, job: Job, charge: Charge, now: datetime) -> bool:
    """:func:`record_charge` inside the caller's transaction, on the job row it locked.
    Returns False (and changes nothing) if the charge's key was booked already."""
    inserted = await session.execute(
        _NEW_ENTRY[session.get_bind().dialect.name],
        {
            "key": charge.key,
            "workspace_id": job.workspace_id,
            "mode": job.mode,
            "day": charge.day,
            "job_id": job.id,
            "kind": "charge",
            "amount_nanos": charge.cost_nanos,
            "details": charge.details,
            "created_at": now,
        },
    )
    if rowcount(inserted) != 1:
        return False
    cost_nanos, day = charge.cost_nanos, charge.day
    held_here = job.reserved_open_nanos if job.spend_day == day else 0
    from_reservation = min(cost_nanos, held_here)
    if cost_nanos > held_here:
        log.warning(
            "job %s: a call cost %d nanodollars, %d more than its hold on %s",
            job.id,
            cost_nanos,
            cost_nanos - held_here,
            day,
        )
    await _move(session, job=job, day=day, reserved=-from_reservation, spent=cost_nanos, now=now)
    job.reserved_open_nanos -= from_reservation
    job.actual_nanos += cost_nanos
    job.updated_at = now
    return True


async def release_open_reservation(
    session: AsyncSession, *, job: Job, now: datetime, reason: str = "settled"
) -> int:
    """Give back what the job still holds (inside the caller's transaction)."""
    amount = job.reserved_open_nanos
    if amount <= 0 or job.spend_day is None:
        return 0
    session.add(
        SpendEntry(
            key=await _release_key(session, job.id),
            workspace_id=job.workspace_id,
            mode=job.mode,
            day=job.spend_day,
            job_id=job.id,
            kind="release",
            amount_nanos=amount,
            details={"reason": reason},
            created_at=now,
        )
    )
    await _move(session, job=job, day=job.spend_day, reserved=-amount, spent=0, now=now)
    job.reserved_open_nanos = 0
    return amount


async def _move(
    session: AsyncSession, *, job: Job, day: date, reserved: int, spent: int, now: datetime
) -> None:
    values = {
        "b_workspace_id": job.workspace_id,
        "b_mode": job.mode,
        "b_day": day,
        "b_reserved": reserved,
        "b_spent": spent,
        "b_now": now,
    }
    # A bucket a job holds or spends in exists (its hold was reserved there): the UPDATE
    # alone; the bucket is only made when the UPDATE found none (a charge on a day the
    # job held nothing), then the UPDATE runs again.
    if rowcount(await session.execute(_MOVE, values)) == 1:
        return
    await _ensure_bucket(session, workspace_id=job.workspace_id, mode=job.mode, day=day, now=now)
    await session.execute(_MOVE, values)


async def get_bucket(
    *, db: Database, workspace_id: str, mode: str, day: date
) -> SpendBucket | None:
    async with db.read() as session:
        return await session.get(SpendBucket, (workspace_id, mode, day))


async def list_entries(
    *, db: Database, workspace_id: str, mode: str, day: date
) -> list[SpendEntry]:
    async with db.read() as session:
        rows = await session.scalars(
            select(SpendEntry)
            .where(
                (SpendEntry.workspace_id == workspace_id)
                & (SpendEntry.mode == mode)
                & (SpendEntry.day == day)
            )
            .order_by(SpendEntry.id)
        )
        return list(rows)


async def job_entries(*, db: Database, job_id: str) -> list[SpendEntry]:
    async with db.read() as session:
        rows = await session.scalars(
            select(SpendEntry).where(SpendEntry.job_id == job_id).order_by(SpendEntry.id)
        )
        return list(rows)
