"""Workspaces: plans, caps and per-workspace limits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from db.engine import Database
from db.tables import Workspace
from ids import new_id

_UNSET: object = object()


async def create_workspace(*, db: Database, name: str, plan: str, now: datetime) -> Workspace:
    async with db.write() as session:
        workspace = Workspace(id=new_id("ws"), name=name, plan=plan, created_at=now)
        session.add(workspace)
        await session.commit()
        return workspace


async def get_workspace(*, db: Database, workspace_id: str) -> Workspace | None:
    async with db.read_statement() as session:
        return await session.get(Workspace, workspace_id)


async def list_workspaces(*, db: Database) -> list[Workspace]:
    async with db.read_statement() as session:
        rows = await session.scalars(select(Workspace).order_by(Workspace.created_at))
        return list(rows)


async def update_workspace(
    *,
    db: Database,
    workspace_id: str,
    name: str | None = None,
    plan: str | None = None,
    daily_cap_cents: int | None | object = _UNSET,
    rate_limit_per_minute: int | None | object = _UNSET,
) -> Workspace | None:
    """Change what is given; ``None`` for a cap or a limit means "back to the default"."""
    async with db.write() as session:
        workspace = await session.get(Workspace, workspace_id)
        if workspace is None:
            return None
        if name is not None:
            workspace.name = name
        if plan is not None:
            workspace.plan = plan
        if daily_cap_cents is not _UNSET:
            workspace.daily_cap_cents = daily_cap_cents  # type: ignore[assignment]
        if rate_limit_per_minute is not _UNSET:
            workspace.rate_limit_per_minute = rate_limit_per_minute  # type: ignore[assignment]
        await session.commit()
        return workspace
