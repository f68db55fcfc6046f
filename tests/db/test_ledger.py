"""The spend ledger on SQLite and on PostgreSQL.

The cap is never exceeded under concurrency, every movement happens once whatever is
retried or replayed, and the bucket always equals the sum of its jobs.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from config import Settings
from contracts import JobStatus
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger
from db.repo import workspaces as workspaces_repo
from db.tables import Job, SpendEntry
from devtools.tenants import make_tenant
from domain.money import NANOS_PER_CENT, nanos_to_cents
from ids import new_id

SETTINGS = Settings(secret_key="ledger-tests")
CENT = NANOS_PER_CENT
TODAY = datetime.now(UTC).date()


async def workspace(db: Database, *, cap_cents: int | None, plan: str = "SOLO") -> str:
    tenant = await make_tenant(db, SETTINGS.signing_key(), plan=plan, cap_cents=cap_cents)
    return tenant.workspace_id


async def new_job(db: Database, workspace_id: str, *, acknowledged: bool = False) -> str:
    job_id = new_id("job")
    assert await jobs_repo.insert_job(
        db=db,
        job_id=job_id,
        workspace_id=workspace_id,
        mode="live",
        type="POST_GENERATION",
        project_id="proj_x",
        idempotency_scope=None,
        idempotency_generation=0,
        fingerprint=None,
        workflow_input={},
        estimate_nanos=5 * CENT,
        now=datetime.now(UTC),
    )
    if acknowledged:
        await jobs_repo.acknowledge(db=db, job_id=job_id, now=datetime.now(UTC))
    return job_id


async def reserve(
    db: Database,
    workspace_id: str,
    job_id: str,
    *,
    day: date = TODAY,
    estimate: int = 5 * CENT,
    run_id: str = "run-1",
) -> str:
    admission = await ledger.reserve(
        db=db,
        job_id=job_id,
        run_id=run_id,
        workspace_id=workspace_id,
        mode="live",
        day=day,
        estimate_nanos=estimate,
        now=datetime.now(UTC),
    )
    return admission.outcome


async def bucket(db: Database, workspace_id: str, day: date = TODAY) -> tuple[int, int]:
    found = await ledger.get_bucket(db=db, workspace_id=workspace_id, mode="live", day=day)
    return (found.reserved_nanos, found.spent_nanos) if found else (0, 0)


async def assert_bucket_matches_jobs(db: Database, workspace_id: str, day: date = TODAY) -> None:
    async with db.read() as session:
        open_sum = await session.scalar(
            select(func.coalesce(func.sum(Job.reserved_open_nanos), 0)).where(
                (Job.workspace_id == workspace_id) & (Job.spend_day == day)
            )
        )
        charged = await session.scalar(
            select(func.coalesce(func.sum(SpendEntry.amount_nanos), 0)).where(
                (SpendEntry.workspace_id == workspace_id)
                & (SpendEntry.day == day)
                & (SpendEntry.kind == "charge")
            )
        )
    assert await bucket(db, workspace_id, day) == (open_sum, charged)


@pytest.mark.parametrize("allowed", [0, 1, 37])
async def test_concurrent_admissions_never_exceed_the_cap(any_db: Database, allowed: int) -> None:
    ws = await workspace(any_db, cap_cents=5 * allowed)  # room for exactly `allowed` jobs
    jobs = [await new_job(any_db, ws) for _ in range(200)]
    outcomes = await asyncio.gather(*(reserve(any_db, ws, job) for job in jobs))
    assert outcomes.count("accepted") == allowed
    assert outcomes.count("refused") == 200 - allowed
    assert await bucket(any_db, ws) == (allowed * 5 * CENT, 0)
    await assert_bucket_matches_jobs(any_db, ws)


async def test_concurrent_duplicates_of_one_job_reserve_once(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=500)
    job = await new_job(any_db, ws)
    outcomes = await asyncio.gather(*(reserve(any_db, ws, job) for _ in range(50)))
    assert set(outcomes) == {"accepted"}
    assert await bucket(any_db, ws) == (5 * CENT, 0)
    entries = await ledger.job_entries(db=any_db, job_id=job)
    assert [e.kind for e in entries] == ["reserve"]


async def test_retried_or_reset_admission_does_not_reserve_again(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=500)
    job = await new_job(any_db, ws)
    assert await reserve(any_db, ws, job, run_id="run-1") == "accepted"
    assert await reserve(any_db, ws, job, run_id="run-1") == "accepted"  # activity retry
    assert await reserve(any_db, ws, job, run_id="run-2") == "accepted"  # operator reset
    assert await bucket(any_db, ws) == (5 * CENT, 0)
    stored = await jobs_repo.get_job(db=any_db, job_id=job)
    assert stored is not None and stored.run_id == "run-2" and stored.status == JobStatus.RUNNING


async def test_refusal_reports_the_bucket_and_hides_or_fails_the_job(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=7)
    first, hidden, answered = (
        await new_job(any_db, ws),
        await new_job(any_db, ws),
        await new_job(any_db, ws, acknowledged=True),
    )
    assert await reserve(any_db, ws, first) == "accepted"
    refused = await ledger.reserve(
        db=any_db,
        job_id=hidden,
        run_id="r",
        workspace_id=ws,
        mode="live",
        day=TODAY,
        estimate_nanos=5 * CENT,
        now=datetime.now(UTC),
    )
    assert refused.outcome == "refused" and refused.job_status == JobStatus.REFUSED
    assert refused.refusal is not None
    assert (refused.refusal.cap_nanos, refused.refusal.spent_nanos) == (7 * CENT, 5 * CENT)
    assert refused.refusal.bucket_date == TODAY
    # The API already answered 202 for this one: it fails visibly instead of vanishing.
    late = await ledger.reserve(
        db=any_db,
        job_id=answered,
        run_id="r",
        workspace_id=ws,
        mode="live",
        day=TODAY,
        estimate_nanos=5 * CENT,
        now=datetime.now(UTC),
    )
    assert late.job_status == JobStatus.FAILED
    stored = await jobs_repo.get_job(db=any_db, job_id=answered)
    assert stored is not None and stored.error_code == "spend_cap_exceeded"
    assert await bucket(any_db, ws) == (5 * CENT, 0)  # refusals hold nothing


async def test_settlement_charges_actuals_and_releases_the_rest(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=500)
    job = await new_job(any_db, ws)
    await reserve(any_db, ws, job)
    now = datetime.now(UTC)
    for key, cost in (("call-1", 31_500), ("call-2", 42_000), ("call-1", 31_500)):  # dup
        await ledger.record_charge(
            db=any_db, job_id=job, key=f"{job}:{key}", cost_nanos=cost, details={}, now=now
        )
    assert await bucket(any_db, ws) == (5 * CENT - 73_500, 73_500)
    settled = await jobs_repo.finish_job(
        db=any_db,
        job_id=job,
        status=JobStatus.DONE,
        error_code=None,
        error_message=None,
        now=now,
    )
    assert (settled.actual_nanos, settled.reserved_open_nanos) == (73_500, 0)
    assert await bucket(any_db, ws) == (0, 73_500)
    # Settling again (a retried local activity) changes nothing.
    await jobs_repo.finish_job(
        db=any_db,
        job_id=job,
        status=JobStatus.DONE,
        error_code=None,
        error_message=None,
        now=now,
    )
    assert await bucket(any_db, ws) == (0, 73_500)
    kinds = [e.kind for e in await ledger.job_entries(db=any_db, job_id=job)]
    assert kinds == ["reserve", "charge", "charge", "release"]
    assert nanos_to_cents(settled.actual_nanos) == 1  # 0.735¢ shows as 1¢
    await assert_bucket_matches_jobs(any_db, ws)


async def test_a_job_failing_before_any_provider_call_is_refunded_in_full(
    any_db: Database,
) -> None:
    ws = await workspace(any_db, cap_cents=500)
    job = await new_job(any_db, ws)
    await reserve(any_db, ws, job)
    await jobs_repo.finish_job(
        db=any_db,
        job_id=job,
        status=JobStatus.FAILED,
        error_code="project_unavailable",
        error_message="x",
        now=datetime.now(UTC),
    )
    assert await bucket(any_db, ws) == (0, 0)


async def test_calls_beyond_the_reservation_are_spent_on_top(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=500)
    job = await new_job(any_db, ws)
    await reserve(any_db, ws, job, estimate=1 * CENT)
    await ledger.record_charge(
        db=any_db,
        job_id=job,
        key=f"{job}:a",
        cost_nanos=3 * CENT,
        details={},
        now=datetime.now(UTC),
    )
    assert await bucket(any_db, ws) == (0, 3 * CENT)
    # After settlement (e.g. an operator reset re-runs the job), calls are spent directly.
    await jobs_repo.finish_job(
        db=any_db,
        job_id=job,
        status=JobStatus.FAILED,
        error_code="generation_failed",
        error_message="x",
        now=datetime.now(UTC),
    )
    await ledger.record_charge(
        db=any_db, job_id=job, key=f"{job}:b", cost_nanos=CENT, details={}, now=datetime.now(UTC)
    )
    assert await bucket(any_db, ws) == (0, 4 * CENT)
    await assert_bucket_matches_jobs(any_db, ws)


async def test_a_cancelled_job_is_never_admitted(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=500)
    job = await new_job(any_db, ws, acknowledged=True)
    cancelled, _ = await jobs_repo.cancel_if_queued(
        db=any_db, job_id=job, workspace_id=ws, mode="live", now=datetime.now(UTC)
    )
    assert cancelled
    assert await reserve(any_db, ws, job) == "cancelled"
    assert await bucket(any_db, ws) == (0, 0)


async def test_cancel_and_admission_race_has_exactly_one_winner(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=50_000)
    for _ in range(20):
        job = await new_job(any_db, ws, acknowledged=True)
        (cancelled, _), outcome = await asyncio.gather(
            jobs_repo.cancel_if_queued(
                db=any_db, job_id=job, workspace_id=ws, mode="live", now=datetime.now(UTC)
            ),
            reserve(any_db, ws, job),
        )
        assert cancelled != (outcome == "accepted")
    await assert_bucket_matches_jobs(any_db, ws)


async def test_each_utc_day_has_its_own_bucket(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=5)
    yesterday = TODAY - timedelta(days=1)
    assert await reserve(any_db, ws, await new_job(any_db, ws), day=yesterday) == "accepted"
    assert await reserve(any_db, ws, await new_job(any_db, ws), day=yesterday) == "refused"
    assert await reserve(any_db, ws, await new_job(any_db, ws), day=TODAY) == "accepted"


async def test_a_job_settles_into_its_admission_day_even_after_midnight(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=500)
    yesterday = TODAY - timedelta(days=1)
    job = await new_job(any_db, ws)
    await reserve(any_db, ws, job, day=yesterday)
    await ledger.record_charge(
        db=any_db, job_id=job, key=f"{job}:a", cost_nanos=1234, details={}, now=datetime.now(UTC)
    )
    await jobs_repo.finish_job(
        db=any_db,
        job_id=job,
        status=JobStatus.DONE,
        error_code=None,
        error_message=None,
        now=datetime.now(UTC),
    )
    assert await bucket(any_db, ws, yesterday) == (0, 1234)
    assert await bucket(any_db, ws, TODAY) == (0, 0)


async def test_unlimited_plan_and_operator_override(any_db: Database) -> None:
    unlimited = await workspace(any_db, cap_cents=None, plan="ENTERPRISE")
    outcomes = [
        await reserve(any_db, unlimited, await new_job(any_db, unlimited), estimate=10_000 * CENT)
        for _ in range(3)
    ]
    assert outcomes == ["accepted"] * 3
    ws = await workspace(any_db, cap_cents=None, plan="SOLO")  # plan default: 500¢
    assert await reserve(any_db, ws, await new_job(any_db, ws), estimate=500 * CENT) == "accepted"
    assert await reserve(any_db, ws, await new_job(any_db, ws), estimate=1) == "refused"
    await workspaces_repo.update_workspace(db=any_db, workspace_id=ws, daily_cap_cents=501)
    assert await reserve(any_db, ws, await new_job(any_db, ws), estimate=CENT) == "accepted"
