"""Projects as customers see them: read one, list the workspace's (newest first)."""

from __future__ import annotations

from datetime import datetime

from db.engine import Database
from db.repo import projects as projects_repo
from db.tables import Project
from services.auth import Principal
from services.errors import NotFound
from services.pagination import CursorCodec, Page, paginate


async def get_project(*, db: Database, principal: Principal, project_id: str) -> Project:
    """The principal's workspace's project, or 404 (another workspace's project too)."""
    project = await projects_repo.get_project(db=db, project_id=project_id)
    if project is None or project.workspace_id != principal.workspace_id:
        raise NotFound("No such project.")
    return project


async def list_projects(
    *, db: Database, cursors: CursorCodec, principal: Principal, cursor: str | None, limit: int
) -> Page[Project]:
    async def fetch(after: tuple[datetime, str] | None, size: int) -> list[Project]:
        return await projects_repo.list_projects(
            db=db, workspace_id=principal.workspace_id, after=after, limit=size
        )

    return await paginate(
        fetch,
        codec=cursors,
        scope=f"{principal.workspace_id}|GET /v1/projects",
        cursor=cursor,
        limit=limit,
    )
