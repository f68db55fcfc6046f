"""Storing the written post (a local activity)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from contracts import SavedPost, SavePostInput
from db.engine import Database
from db.repo import posts as posts_repo


class PostActivities:
    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name="save_post")
    async def save_post(self, request: SavePostInput) -> SavedPost:
        """Store the post as a draft, or scheduled at ``scheduled_for``; once per job."""
        post_id = await posts_repo.save_post_for_job(
            db=self._db,
            job_id=request.job_id,
            workspace_id=request.workspace_id,
            mode=request.mode.value,
            project_id=request.project_id,
            title=request.title,
            content=request.content,
            language=request.language,
            scheduled_at=request.scheduled_for,
            now=datetime.now(UTC),
        )
        return SavedPost(post_id=post_id)
