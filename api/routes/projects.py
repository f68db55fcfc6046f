"""Projects: the brands a workspace writes for."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, ServicesDep
from api.openapi import errors
from api.params import parse_limit
from api.presenters import listed, project_public
from api.schemas import DataEnvelope, ListEnvelope, ProjectPublic
from db.repo import projects as projects_repo
from db.tables import Project
from services.errors import BadCursor, BadPagination, NotFound
from services.pagination import paginate

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get(
    "", response_model=ListEnvelope[ProjectPublic], responses=errors(BadPagination, BadCursor)
)
async def list_projects(
    services: ServicesDep,
    principal: PrincipalDep,
    limit: Annotated[str | None, Query(description="1–200, default 50")] = None,
    cursor: str | None = None,
) -> ListEnvelope[ProjectPublic]:
    """List the workspace's projects, newest first."""

    async def fetch(after: tuple[datetime, str] | None, size: int) -> list[Project]:
        return await projects_repo.list_projects(
            db=services.db, workspace_id=principal.workspace_id, after=after, limit=size
        )

    page = await paginate(
        fetch,
        codec=services.cursors,
        scope=f"{principal.workspace_id}|GET /v1/projects",
        cursor=cursor,
        limit=parse_limit(limit),
    )
    return listed(page, project_public)


@router.get("/{project_id}", response_model=DataEnvelope[ProjectPublic], responses=errors(NotFound))
async def get_project(
    project_id: str, services: ServicesDep, principal: PrincipalDep
) -> DataEnvelope[ProjectPublic]:
    """Read a project."""
    project = await projects_repo.get_project(db=services.db, project_id=project_id)
    if project is None or project.workspace_id != principal.workspace_id:
        raise NotFound("No such project.")
    return DataEnvelope(data=project_public(project))
