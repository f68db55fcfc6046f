"""Posts: read what a job wrote."""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, ServicesDep
from api.openapi import GuardedRoute, errors
from api.params import enum_list, parse_limit
from api.presenters import listed, post_public
from api.schemas import DataEnvelope, ListEnvelope, PostPublic, PostStatus
from services import posts as posts_service
from services.errors import BadCursor, BadPagination, InvalidRequest, NotFound

router = APIRouter(prefix="/posts", tags=["posts"], route_class=GuardedRoute)

POST_STATUSES: list[str] = list(get_args(PostStatus))


@router.get("/{post_id}", response_model=DataEnvelope[PostPublic], responses=errors(NotFound))
async def get_post(
    post_id: str, services: ServicesDep, principal: PrincipalDep
) -> DataEnvelope[PostPublic]:
    """Read a post."""
    post = await posts_service.get_post(db=services.db, principal=principal, post_id=post_id)
    return DataEnvelope(data=post_public(post))


@router.get(
    "",
    response_model=ListEnvelope[PostPublic],
    responses=errors(InvalidRequest, BadPagination, BadCursor),
)
async def list_posts(
    services: ServicesDep,
    principal: PrincipalDep,
    projectId: Annotated[str | None, Query(description="Required: the project's posts")] = None,
    status: Annotated[str | None, Query(description="Comma-separated post statuses")] = None,
    limit: Annotated[str | None, Query(description="1–200, default 50")] = None,
    cursor: str | None = None,
) -> ListEnvelope[PostPublic]:
    """List a project's posts, newest first."""
    if not projectId:
        raise InvalidRequest(
            "projectId: is required", details={"field": "projectId", "reason": "is required"}
        )
    page = await posts_service.list_posts(
        db=services.db,
        cursors=services.cursors,
        principal=principal,
        project_id=projectId,
        statuses=enum_list("status", status, POST_STATUSES),
        cursor=cursor,
        limit=parse_limit(limit),
    )
    return listed(page, post_public)
