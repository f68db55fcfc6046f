"""Whether a finishing job's events have anyone to go to, read in the job's own settling
transaction (so the answer and the final row are one snapshot).

The workflow starts ``WebhookEventsWorkflow`` only when the answer is yes: a workspace
without endpoints costs its jobs no child workflow (docs/webhooks.md: events are emitted
for the endpoints that exist when the job finishes).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import JobStatus
from db.repo import webhooks as webhooks_repo
from db.tables import Job
from domain.webhooks import job_event_types


class SubscriberCheck:
    """``finish_job(also=...)``: records whether an enabled endpoint wants the events."""

    def __init__(self) -> None:
        self.subscribed = False

    async def __call__(self, session: AsyncSession, job: Job) -> None:
        if job.status not in (JobStatus.DONE, JobStatus.FAILED):
            self.subscribed = False
            return
        self.subscribed = await webhooks_repo.has_subscriber(
            session,
            workspace_id=job.workspace_id,
            mode=job.mode,
            event_types=job_event_types(done=job.status == JobStatus.DONE),
        )
