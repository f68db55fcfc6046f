"""Posts: read what a job wrote."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, get_args

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, ServicesDep
from api.openapi import errors
from api.params import enum_list, parse_limit
from api.presenters import listed, post_public
from api.schemas import DataEnvelope, ListEnvelope, PostPublic, PostStatus
from db.repo import posts as posts_repo
from db.tables import Post
from services.errors import BadCursor, BadPagination, InvalidRequest, NotFound
from services.pagination import paginate

router = APIRouter(prefix="/posts", tags=["posts"])

POST_STATUSES: list[str] = list(get_args(PostStatus))


@router.get("/{post_id}", response_model=DataEnvelope[PostPublic], responses=errors(NotFound))
async def get_post(
    post_id: str, services: ServicesDep, principal: PrincipalDep
) -> DataEnvelope[PostPublic]:
    """Read a post."""
    post = await posts_repo.get_post(
        db=services.db, post_id=post_id, workspace_id=principal.workspace_id, mode=principal.mode
    )
    if post is None:
        raise NotFound("No such post.")
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
    statuses = enum_list("status", status, POST_STATUSES)
    project_id = projectId

    async def fetch(after: tuple[datetime, str] | None, size: int) -> list[Post]:
        return await posts_repo.list_posts(
            db=services.db,
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            project_id=project_id,
            statuses=statuses,
            after=after,
            limit=size,
        )

    scope = "|".join(
        (principal.workspace_id, principal.mode, "GET /v1/posts", projectId, ",".join(statuses))
    )
    page = await paginate(
        fetch, codec=services.cursors, scope=scope, cursor=cursor, limit=parse_limit(limit)
    )
    return listed(page, post_public)
