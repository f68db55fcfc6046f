"""Projects: the brands a workspace writes for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, ServicesDep
from api.openapi import errors
from api.params import parse_limit
from api.presenters import project_public
from api.schemas import DataEnvelope, ListEnvelope, Pagination, ProjectPublic
from db.repo import projects as projects_repo
from services.errors import BadCursor, BadPagination, NotFound
from services.pagination import page_of

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
    size = parse_limit(limit)
    scope = f"{principal.workspace_id}|GET /v1/projects"
    after = services.cursors.decode(cursor, scope=scope) if cursor else None
    rows = await projects_repo.list_projects(
        db=services.db, workspace_id=principal.workspace_id, after=after, limit=size + 1
    )
    page = page_of(rows, limit=size, codec=services.cursors, scope=scope)
    return ListEnvelope(
        data=[project_public(p) for p in page.items],
        pagination=Pagination(next_cursor=page.next_cursor, has_more=page.has_more),
    )


@router.get("/{project_id}", response_model=DataEnvelope[ProjectPublic], responses=errors(NotFound))
async def get_project(
    project_id: str, services: ServicesDep, principal: PrincipalDep
) -> DataEnvelope[ProjectPublic]:
    """Read a project."""
    project = await projects_repo.get_project(db=services.db, project_id=project_id)
    if project is None or project.workspace_id != principal.workspace_id:
        raise NotFound("No such project.")
    return DataEnvelope(data=project_public(project))
