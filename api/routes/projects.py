"""Projects: the brands a workspace writes for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, ServicesDep
from api.openapi import GuardedRoute, errors
from api.params import parse_limit
from api.presenters import listed, project_public
from api.schemas import DataEnvelope, ListEnvelope, ProjectPublic
from services import projects as projects_service
from services.errors import BadCursor, BadPagination, NotFound

router = APIRouter(prefix="/projects", tags=["projects"], route_class=GuardedRoute)


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
    page = await projects_service.list_projects(
        db=services.db,
        cursors=services.cursors,
        principal=principal,
        cursor=cursor,
        limit=parse_limit(limit),
    )
    return listed(page, project_public)


@router.get("/{project_id}", response_model=DataEnvelope[ProjectPublic], responses=errors(NotFound))
async def get_project(
    project_id: str, services: ServicesDep, principal: PrincipalDep
) -> DataEnvelope[ProjectPublic]:
    """Read a project."""
    project = await projects_service.get_project(
        db=services.db, principal=principal, project_id=project_id
    )
    return DataEnvelope(data=project_public(project))
