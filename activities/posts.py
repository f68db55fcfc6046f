"""Finishing a job that wrote its post (a local activity: one database transaction)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities.db_steps import local_db_step
from activities.webhook_subscribers import SubscriberCheck
from contracts import CompletedJob, CompleteJobInput, JobStatus
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo.posts import PostDraft


class PostActivities:
    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name="complete_job")
    async def complete_job(self, request: CompleteJobInput) -> CompletedJob:
        """Store the post (a draft, or scheduled at ``scheduled_for``) and settle the job
        DONE, together: once per job, whatever retries or resets happen."""
        post = PostDraft(
            workspace_id=request.workspace_id,
            mode=request.mode.value,
            project_id=request.project_id,
            title=request.title,
            content=request.content,
            language=request.language,
            scheduled_at=request.scheduled_for,
        )
        # A post the database cannot take (a date past year 9999 in UTC, a NUL character)
        # fails the job storage_rejected; the workflow then settles it FAILED.
        subscribers = SubscriberCheck()
        job = await local_db_step(
            lambda: jobs_repo.finish_job(
                db=self._db,
                job_id=request.job_id,
                status=JobStatus.DONE,
                error_code=None,
                error_message=None,
                now=datetime.now(UTC),
                post=post,
                also=subscribers,
            ),
            what="storing the post",
        )
        assert job.post_id is not None
        return CompletedJob(
            post_id=job.post_id,
            estimate_nanos=job.estimate_nanos,
            actual_nanos=job.actual_nanos,
            webhook_subscribers=subscribers.subscribed,
        )
