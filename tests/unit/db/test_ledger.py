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
from db.repo.posts import PostDraft
from db.tables import Job, SpendEntry
from devtools.tenants import make_tenant
from domain.money import NANOS_PER_CENT, nanos_to_cents
from ids import new_id
from tests.utils.clock import MovableClock

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


async def hold_for_call(
    db: Database, job_id: str, *, key: str, worst: int, day: date = TODAY, run_id: str = "run-1"
) -> ledger.Hold:
    """The writing step's start of a call (``jobs.start_call``): its hold, as the ledger made it."""
    started = await jobs_repo.start_call(
        db=db,
        job_id=job_id,
        run_id=run_id,
        message="Writing",
        hold_key=key,
        day=day,
        worst_case_nanos=worst,
        now=datetime.now(UTC),
    )
    return started.hold


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


async def test_a_call_after_midnight_moves_the_hold_and_books_to_the_call_day(
    any_db: Database,
) -> None:
    ws = await workspace(any_db, cap_cents=500)
    yesterday = TODAY - timedelta(days=1)
    job = await new_job(any_db, ws)
    await reserve(any_db, ws, job, day=yesterday)
    hold = await hold_for_call(any_db, job, key=f"{job}:hold-1", day=TODAY, worst=3 * CENT)
    assert (hold.day, hold.held_nanos, hold.added_nanos) == (TODAY, 3 * CENT, 3 * CENT)
    assert await bucket(any_db, ws, yesterday) == (0, 0)  # the hold moved with the call
    assert await bucket(any_db, ws, TODAY) == (3 * CENT, 0)
    await ledger.record_charge(
        db=any_db,
        job_id=job,
        key=f"{job}:a",
        cost_nanos=1234,
        details={},
        now=datetime.now(UTC),
        day=TODAY,
    )
    await jobs_repo.finish_job(
        db=any_db,
        job_id=job,
        status=JobStatus.DONE,
        error_code=None,
        error_message=None,
        now=datetime.now(UTC),
    )
    assert await bucket(any_db, ws, yesterday) == (0, 0)
    assert await bucket(any_db, ws, TODAY) == (0, 1234)
    kinds = [(e.kind, e.day) for e in await ledger.job_entries(db=any_db, job_id=job)]
    assert kinds == [
        ("reserve", yesterday),
        ("release", yesterday),
        ("reserve", TODAY),
        ("charge", TODAY),
        ("release", TODAY),
    ]
    await assert_bucket_matches_jobs(any_db, ws, yesterday)
    await assert_bucket_matches_jobs(any_db, ws, TODAY)


async def test_a_retry_after_release_reserves_again_on_the_later_day(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=5)  # room for one 5¢ job a day
    clock = MovableClock()
    day_one = clock.now().date()
    job = await new_job(any_db, ws, acknowledged=True)
    assert await reserve(any_db, ws, job, day=day_one, run_id="run-1") == "accepted"
    await jobs_repo.finish_job(
        db=any_db,
        job_id=job,
        status=JobStatus.FAILED,
        error_code="provider_rejected",
        error_message="x",
        now=clock.now(),
    )
    clock.advance(timedelta(days=1))
    day_two = clock.now().date()
    # The operator's retry, a day later: a new run, reserved like a new admission.
    assert await reserve(any_db, ws, job, day=day_two, run_id="run-2") == "accepted"
    assert await reserve(any_db, ws, job, day=day_two, run_id="run-2") == "accepted"  # retried
    assert await bucket(any_db, ws, day_one) == (0, 0)
    assert await bucket(any_db, ws, day_two) == (5 * CENT, 0)
    # The cap of the later day counts it: a second job does not fit.
    other = await new_job(any_db, ws)
    assert await reserve(any_db, ws, other, day=day_two) == "refused"
    await ledger.record_charge(
        db=any_db,
        job_id=job,
        key=f"{job}:b",
        cost_nanos=CENT,
        details={},
        now=clock.now(),
        day=day_two,
    )
    assert await bucket(any_db, ws, day_two) == (4 * CENT, CENT)
    kinds = [(e.kind, e.day) for e in await ledger.job_entries(db=any_db, job_id=job)]
    assert kinds == [
        ("reserve", day_one),
        ("release", day_one),
        ("reserve", day_two),
        ("charge", day_two),
    ]
    await assert_bucket_matches_jobs(any_db, ws, day_two)


async def test_top_ups_hold_each_calls_worst_case_under_the_cap(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=10)
    job = await new_job(any_db, ws)
    await reserve(any_db, ws, job)  # 5¢
    for attempt, expected_spent in ((1, 2), (2, 4)):
        hold = await hold_for_call(any_db, job, key=f"{job}:hold-{attempt}", worst=8 * CENT)
        assert hold.held_nanos == 8 * CENT
        reserved, spent = await bucket(any_db, ws)
        assert reserved + spent <= 10 * CENT
        await ledger.record_charge(
            db=any_db,
            job_id=job,
            key=f"{job}:charge-{attempt}",
            cost_nanos=2 * CENT,
            details={},
            now=datetime.now(UTC),
        )
        assert await bucket(any_db, ws) == (6 * CENT, expected_spent * CENT)
    # The same top-up again (a retried step) is a no-op.
    await hold_for_call(any_db, job, key=f"{job}:hold-2", worst=8 * CENT)
    assert await bucket(any_db, ws) == (6 * CENT, 4 * CENT)
    # 4¢ spent + 8¢ worst case > 10¢: refused, and what the job held is released.
    with pytest.raises(ledger.CapExceeded) as refused:
        await hold_for_call(any_db, job, key=f"{job}:hold-3", worst=8 * CENT)
    assert refused.value.refusal.cap_nanos == 10 * CENT
    assert await bucket(any_db, ws) == (0, 4 * CENT)
    await assert_bucket_matches_jobs(any_db, ws)


async def test_concurrent_top_ups_never_exceed_the_cap(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=40)
    jobs = [await new_job(any_db, ws) for _ in range(20)]
    for job in jobs:
        assert await reserve(any_db, ws, job, estimate=CENT) == "accepted"

    async def top_up(job: str) -> bool:
        try:
            await hold_for_call(any_db, job, key=f"{job}:hold", worst=3 * CENT)
        except ledger.CapExceeded:
            return False
        return True

    results = await asyncio.gather(*(top_up(job) for job in jobs))
    reserved, spent = await bucket(any_db, ws)
    assert reserved + spent <= 40 * CENT
    assert reserved == 3 * CENT * results.count(True)
    assert 10 <= results.count(True) < 20
    await assert_bucket_matches_jobs(any_db, ws)


async def test_a_done_job_is_finished_not_admitted_again(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=500)
    job = await new_job(any_db, ws)
    await reserve(any_db, ws, job)
    done = await jobs_repo.finish_job(
        db=any_db,
        job_id=job,
        status=JobStatus.DONE,
        error_code=None,
        error_message=None,
        now=datetime.now(UTC),
        post=PostDraft(
            workspace_id=ws,
            mode="live",
            project_id="proj_x",
            title="t",
            content="c",
            language="en",
            scheduled_at=None,
        ),
    )
    admission = await ledger.reserve(
        db=any_db,
        job_id=job,
        run_id="run-reset",
        workspace_id=ws,
        mode="live",
        day=TODAY,
        estimate_nanos=5 * CENT,
        now=datetime.now(UTC),
    )
    assert (admission.outcome, admission.post_id) == ("finished", done.post_id)
    assert admission.job_status == JobStatus.DONE
    assert await bucket(any_db, ws) == (0, 0)
    stored = await jobs_repo.get_job(db=any_db, job_id=job)
    assert stored is not None and stored.status == JobStatus.DONE and stored.run_id == "run-1"


async def test_only_the_admitted_run_of_a_live_job_starts_an_attempt(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=500)
    job = await new_job(any_db, ws)
    await reserve(any_db, ws, job, run_id="run-1")
    now = datetime.now(UTC)
    assert (
        await jobs_repo.start_attempt(db=any_db, job_id=job, run_id="run-1", message="m", now=now)
        == 1
    )
    with pytest.raises(jobs_repo.JobAlreadyFinished) as other_run:
        await jobs_repo.start_attempt(db=any_db, job_id=job, run_id="run-0", message="m", now=now)
    assert (other_run.value.status, other_run.value.post_id) == ("RUNNING", None)
    await jobs_repo.finish_job(
        db=any_db,
        job_id=job,
        status=JobStatus.FAILED,
        error_code="generation_failed",
        error_message="x",
        now=now,
    )
    with pytest.raises(jobs_repo.JobAlreadyFinished) as finished:
        await jobs_repo.start_attempt(db=any_db, job_id=job, run_id="run-1", message="m", now=now)
    assert finished.value.status == "FAILED"
    stored = await jobs_repo.get_job(db=any_db, job_id=job)
    assert stored is not None and stored.status == JobStatus.FAILED and stored.attempt_count == 1


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


async def test_a_late_run_never_flips_a_finished_job(any_db: Database) -> None:
    ws = await workspace(any_db, cap_cents=500)
    done, failed = await new_job(any_db, ws), await new_job(any_db, ws)
    for job in (done, failed):
        await reserve(any_db, ws, job)
    draft = PostDraft(
        workspace_id=ws,
        mode="live",
        project_id="proj_x",
        title="t",
        content="c",
        language="en",
        scheduled_at=None,
    )
    now = datetime.now(UTC)
    await jobs_repo.finish_job(
        db=any_db,
        job_id=done,
        status=JobStatus.DONE,
        error_code=None,
        error_message=None,
        now=now,
        post=draft,
    )
    await jobs_repo.finish_job(
        db=any_db,
        job_id=failed,
        status=JobStatus.FAILED,
        error_code="generation_failed",
        error_message="x",
        now=now,
    )
    with pytest.raises(jobs_repo.JobAlreadyFinished) as settling_done:
        await jobs_repo.finish_job(
            db=any_db,
            job_id=done,
            status=JobStatus.FAILED,
            error_code="generation_failed",
            error_message="x",
            now=now,
        )
    assert settling_done.value.status == "DONE" and settling_done.value.post_id is not None
    with pytest.raises(jobs_repo.JobAlreadyFinished):
        await jobs_repo.finish_job(
            db=any_db,
            job_id=failed,
            status=JobStatus.DONE,
            error_code=None,
            error_message=None,
            now=now,
            post=draft,
        )
    stored_done = await jobs_repo.get_job(db=any_db, job_id=done)
    stored_failed = await jobs_repo.get_job(db=any_db, job_id=failed)
    assert stored_done is not None and stored_done.status == JobStatus.DONE
    assert stored_failed is not None and stored_failed.status == JobStatus.FAILED
    assert stored_failed.post_id is None


async def test_a_charge_on_a_day_without_a_bucket_makes_that_days_bucket(
    any_db: Database,
) -> None:
    # The bucket's UPDATE comes first; a day nobody reserved on has no row to update yet.
    ws = await workspace(any_db, cap_cents=500)
    job = await new_job(any_db, ws)
    await reserve(any_db, ws, job, estimate=2 * CENT)
    later = TODAY + timedelta(days=3)
    assert await ledger.get_bucket(db=any_db, workspace_id=ws, mode="live", day=later) is None
    await ledger.record_charge(
        db=any_db,
        job_id=job,
        key=f"{job}:later",
        cost_nanos=CENT,
        details={},
        now=datetime.now(UTC),
        day=later,
    )
    assert await bucket(any_db, ws, later) == (0, CENT)
    assert await bucket(any_db, ws) == (2 * CENT, 0)  # the hold stays where it was
    await assert_bucket_matches_jobs(any_db, ws)
    await assert_bucket_matches_jobs(any_db, ws, later)
