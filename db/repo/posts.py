"""Posts written by jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.repo._common import insert_ignore, newest_first_after
from db.tables import Post
from domain.errors import NotFoundError
from ids import new_id


@dataclass(frozen=True)
class PostDraft:
    """A written post, before it is stored."""

    workspace_id: str
    mode: str
    project_id: str
    title: str
    content: str
    language: str
    scheduled_at: datetime | None


async def store_post_for_job(
    session: AsyncSession, *, job_id: str, draft: PostDraft, now: datetime
) -> str:
    """Store the job's post once (inside the caller's transaction); a retry or a reset gets
    the id of the post stored first."""
    await session.execute(
        insert_ignore(
            session,
            Post,
            id=new_id("post"),
            workspace_id=draft.workspace_id,
            mode=draft.mode,
            project_id=draft.project_id,
            job_id=job_id,
            status="scheduled" if draft.scheduled_at else "draft",
            platform="LINKEDIN",
            content_type="TEXT",
            title=draft.title,
            content=draft.content,
            language=draft.language,
            scheduled_at=draft.scheduled_at,
            created_at=now,
            updated_at=now,
        )
    )
    post_id = await session.scalar(select(Post.id).where(Post.job_id == job_id))
    if post_id is None:  # pragma: no cover - the insert or an earlier one made it
        raise NotFoundError(f"no post for job {job_id}")
    return post_id


async def get_post(*, db: Database, post_id: str, workspace_id: str, mode: str) -> Post | None:
    async with db.read_statement() as session:
        return await session.scalar(
            select(Post).where(
                (Post.id == post_id) & (Post.workspace_id == workspace_id) & (Post.mode == mode)
            )
        )


async def posts_for_job(*, db: Database, job_id: str) -> list[Post]:
    async with db.read_statement() as session:
        return list(await session.scalars(select(Post).where(Post.job_id == job_id)))


async def list_posts(
    *,
    db: Database,
    workspace_id: str,
    mode: str,
    project_id: str,
    statuses: Sequence[str] = (),
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> list[Post]:
    query = select(Post).where(
        (Post.workspace_id == workspace_id) & (Post.mode == mode) & (Post.project_id == project_id)
    )
    if statuses:
        query = query.where(Post.status.in_(statuses))
    query = query.where(newest_first_after(Post.created_at, Post.id, after))
    query = query.order_by(Post.created_at.desc(), Post.id.desc()).limit(limit)
    async with db.read_statement() as session:
        return list(await session.scalars(query))
