"""The AI-spend ledger: per (workspace, mode, UTC day) buckets and keyed entries.

Invariants, kept by doing every movement in one transaction with the job row locked:

* ``bucket.reserved_nanos`` is the sum of ``job.reserved_open_nanos`` of the bucket's jobs;
* ``bucket.spent_nanos`` is the sum of the bucket's ``charge`` entries;
* an entry's ``key`` is unique, so a retried, duplicated or replayed movement is a no-op;
* admission is one conditional UPDATE: ``spent + reserved + estimate <= cap`` or nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Admission, JobStatus, SpendRefusal
from db.engine import Database
from db.repo._common import insert_ignore, lock_job, rowcount
from db.tables import Job, SpendBucket, SpendEntry, Workspace
from domain.plans import Plan, effective_cap_nanos


def reserve_key(job_id: str) -> str:
    return f"{job_id}:reserve"


def release_key(job_id: str) -> str:
    return f"{job_id}:release"


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
    """Admit a job by reserving its estimate, exactly once per job.

    A cancelled job is not admitted. A job that already holds its reservation (a retried
    activity, a replayed update, an operator reset) is admitted again without a second one.
    """
    async with db.write() as session:
        job = await lock_job(session, job_id)
        if job is None or job.status == JobStatus.CANCELLED:
            return Admission(outcome="cancelled", job_status=JobStatus.CANCELLED)
        existing = await session.scalar(
            select(SpendEntry.id).where(SpendEntry.key == reserve_key(job_id))
        )
        if existing is None:
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
                job.error_code = "spend_cap_exceeded"
                job.error_message = (
                    "The workspace's daily AI spend cap was reached before the job started."
                )
                job.completed_at = job.updated_at = now
                await session.commit()
                return Admission(
                    outcome="refused", job_status=JobStatus(job.status), refusal=refusal
                )
            session.add(
                SpendEntry(
                    key=reserve_key(job_id),
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
        job.progress, job.progress_message = 0.1, "Loading the project's voice and knowledge"
        job.updated_at = now
        await session.commit()
        return Admission(outcome="accepted", job_status=JobStatus.RUNNING)


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
        raise LookupError(f"workspace {workspace_id} does not exist")
    cap = effective_cap_nanos(Plan(workspace.plan), workspace.daily_cap_cents)
    await session.execute(
        insert_ignore(
            session,
            SpendBucket,
            workspace_id=workspace_id,
            mode=mode,
            day=day,
            reserved_nanos=0,
            spent_nanos=0,
            updated_at=now,
        )
    )
    bucket_key = (
        (SpendBucket.workspace_id == workspace_id)
        & (SpendBucket.mode == mode)
        & (SpendBucket.day == day)
    )
    condition = bucket_key
    if cap is not None:
        condition = condition & (
            SpendBucket.spent_nanos + SpendBucket.reserved_nanos + estimate_nanos <= cap
        )
    result = await session.execute(
        update(SpendBucket)
        .where(condition)
        .values(reserved_nanos=SpendBucket.reserved_nanos + estimate_nanos, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) == 1:
        return None
    bucket = (await session.execute(select(SpendBucket).where(bucket_key))).scalar_one()
    return SpendRefusal(
        bucket_date=day,
        cap_nanos=cap or 0,
        spent_nanos=bucket.spent_nanos + bucket.reserved_nanos,
        estimate_nanos=estimate_nanos,
    )


async def record_charge(
    *,
    db: Database,
    job_id: str,
    key: str,
    cost_nanos: int,
    details: dict[str, Any],
    now: datetime,
) -> bool:
    """Book one billed provider call. Returns False if ``key`` was booked already.

    The cost is taken from the job's open reservation first; what exceeds it (or all of
    it, once the reservation was released) is spent on top.
    """
    async with db.write() as session:
        job = await lock_job(session, job_id)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        day = job.spend_day or now.date()
        inserted = await session.execute(
            insert_ignore(
                session,
                SpendEntry,
                key=key,
                workspace_id=job.workspace_id,
                mode=job.mode,
                day=day,
                job_id=job_id,
                kind="charge",
                amount_nanos=cost_nanos,
                details=details,
                created_at=now,
            )
        )
        if rowcount(inserted) != 1:
            await session.rollback()
            return False
        from_reservation = min(cost_nanos, job.reserved_open_nanos)
        await _move(
            session, job=job, day=day, reserved=-from_reservation, spent=cost_nanos, now=now
        )
        job.reserved_open_nanos -= from_reservation
        job.actual_nanos += cost_nanos
        job.updated_at = now
        await session.commit()
        return True


async def release_open_reservation(session: AsyncSession, *, job: Job, now: datetime) -> int:
    """Give back what the job still holds (inside the caller's transaction)."""
    amount = job.reserved_open_nanos
    if amount <= 0 or job.spend_day is None:
        return 0
    session.add(
        SpendEntry(
            key=release_key(job.id),
            workspace_id=job.workspace_id,
            mode=job.mode,
            day=job.spend_day,
            job_id=job.id,
            kind="release",
            amount_nanos=amount,
            details={},
            created_at=now,
        )
    )
    await _move(session, job=job, day=job.spend_day, reserved=-amount, spent=0, now=now)
    job.reserved_open_nanos = 0
    return amount


async def _move(
    session: AsyncSession, *, job: Job, day: date, reserved: int, spent: int, now: datetime
) -> None:
    await session.execute(
        insert_ignore(
            session,
            SpendBucket,
            workspace_id=job.workspace_id,
            mode=job.mode,
            day=day,
            reserved_nanos=0,
            spent_nanos=0,
            updated_at=now,
        )
    )
    await session.execute(
        update(SpendBucket)
        .where(
            (SpendBucket.workspace_id == job.workspace_id)
            & (SpendBucket.mode == job.mode)
            & (SpendBucket.day == day)
        )
        .values(
            reserved_nanos=SpendBucket.reserved_nanos + reserved,
            spent_nanos=SpendBucket.spent_nanos + spent,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


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
