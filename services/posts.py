"""Posts as customers see them: read one, list a project's (tenant-scoped, newest first)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from db.engine import Database
from db.repo import posts as posts_repo
from db.tables import Post
from services.auth import Principal
from services.errors import NotFound
from services.pagination import CursorCodec, Page, paginate


async def get_post(*, db: Database, principal: Principal, post_id: str) -> Post:
    """The principal's post (its workspace and mode), or 404."""
    post = await posts_repo.get_post(
        db=db, post_id=post_id, workspace_id=principal.workspace_id, mode=principal.mode
    )
    if post is None:
        raise NotFound("No such post.")
    return post


async def list_posts(
    *,
    db: Database,
    cursors: CursorCodec,
    principal: Principal,
    project_id: str,
    statuses: Sequence[str],
    cursor: str | None,
    limit: int,
) -> Page[Post]:
    """One page of a project's posts; the cursor is valid only for the same filters."""

    async def fetch(after: tuple[datetime, str] | None, size: int) -> list[Post]:
        return await posts_repo.list_posts(
            db=db,
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            project_id=project_id,
            statuses=statuses,
            after=after,
            limit=size,
        )

    scope = "|".join(
        (principal.workspace_id, principal.mode, "GET /v1/posts", project_id, ",".join(statuses))
    )
    return await paginate(fetch, codec=cursors, scope=scope, cursor=cursor, limit=limit)
