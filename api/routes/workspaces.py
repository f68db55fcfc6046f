"""The caller's workspace and key."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep
from api.openapi import GuardedRoute, errors
from api.schemas import DataEnvelope, PrincipalInfo, WorkspaceInfo, WorkspaceMe

router = APIRouter(prefix="/workspaces", tags=["workspaces"], route_class=GuardedRoute)


@router.get("/me", response_model=DataEnvelope[WorkspaceMe], responses=errors())
async def get_current_workspace(principal: PrincipalDep) -> DataEnvelope[WorkspaceMe]:
    """Which workspace and key this request runs as."""
    return DataEnvelope(
        data=WorkspaceMe(
            workspace=WorkspaceInfo(
                id=principal.workspace_id, name=principal.workspace_name, plan=principal.plan
            ),
            principal=PrincipalInfo(id=principal.key_id, mode=principal.mode),
        )
    )
