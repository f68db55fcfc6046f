"""Spend reservation and settlement (local activities: short database steps)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities.db_steps import local_db_step
from activities.webhook_subscribers import SubscriberCheck
from contracts import Admission, ReserveSpendInput, SettledJob, SettleJobInput
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger


class SpendActivities:
    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name="reserve_spend")
    async def reserve(self, request: ReserveSpendInput) -> Admission:
        """Reserve the job's estimate against today's cap, once per run that needs it
        (see ``ledger.reserve``)."""
        return await local_db_step(
            lambda: ledger.reserve(
                db=self._db,
                job_id=request.job_id,
                run_id=request.run_id,
                workspace_id=request.workspace_id,
                mode=request.mode.value,
                day=request.bucket_date,
                estimate_nanos=request.estimate_nanos,
                now=datetime.now(UTC),
            ),
            what="admitting the job",
        )

    @activity.defn(name="settle_job")
    async def settle(self, request: SettleJobInput) -> SettledJob:
        """End a job without a post (FAILED or CANCELLED): record why and release what its
        reservation still holds (everything, if no provider call was billed)."""
        subscribers = SubscriberCheck()
        job = await local_db_step(
            lambda: jobs_repo.finish_job(
                db=self._db,
                job_id=request.job_id,
                status=request.status,
                error_code=request.error_code,
                error_message=request.error_message,
                now=datetime.now(UTC),
                also=subscribers,
            ),
            what="settling the job",
        )
        return SettledJob(
            estimate_nanos=job.estimate_nanos,
            actual_nanos=job.actual_nanos,
            webhook_subscribers=subscribers.subscribed,
        )
