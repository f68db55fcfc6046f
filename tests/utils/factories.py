"""Test data made through the same repositories the product uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from config import Settings
from db.engine import Database
from db.repo import api_keys, projects, workspaces
from domain.retrieval import split_passages
from ids import new_api_key
from services.auth import hash_api_key

SOURCE_TEXT = (
    "We analysed 1,200 B2B SaaS accounts. Customers who had a personal onboarding call "
    "churned 38% less in their first year. Most teams still rely on automated email "
    "sequences because calls do not scale. One 30-minute call costs less than losing a "
    "customer in month four. We now book the call before the contract is signed."
)


@dataclass
class Tenant:
    workspace_id: str
    project_id: str
    live_key: str
    test_key: str

    def headers(self, mode: Literal["live", "test"] = "test", /, **extra: str) -> dict[str, str]:
        key = self.live_key if mode == "live" else self.test_key
        return {"Authorization": f"Bearer {key}", **extra}


async def make_key(
    db: Database,
    settings: Settings,
    workspace_id: str,
    mode: Literal["live", "test"],
    *,
    expires_at: datetime | None = None,
) -> tuple[str, str]:
    token = new_api_key(mode)
    key = await api_keys.create_api_key(
        db=db,
        workspace_id=workspace_id,
        mode=mode,
        name=f"{mode} key",
        key_hash=hash_api_key(settings.signing_key(), token),
        last4=token[-4:],
        expires_at=expires_at,
        now=datetime.now(UTC),
    )
    return token, key.id


async def make_tenant(
    db: Database,
    settings: Settings,
    *,
    plan: str = "SOLO",
    cap_cents: int | None = None,
    rate_limit: int | None = 10_000,
    project_status: str = "ACTIVE",
    language: str = "en",
    **project: Any,
) -> Tenant:
    now = datetime.now(UTC)
    ws = await workspaces.create_workspace(db=db, name="Test Workspace", plan=plan, now=now)
    await workspaces.update_workspace(
        db=db, workspace_id=ws.id, daily_cap_cents=cap_cents, rate_limit_per_minute=rate_limit
    )
    proj = await projects.create_project(
        db=db,
        workspace_id=ws.id,
        name=project.pop("name", "Northwind Growth"),
        type=project.pop("type", "PERSONAL_BRAND"),
        language=language,
        url=None,
        tone_profile=project.pop("tone_profile", {"cta": "What would you add?", "person": "I"}),
        voice_samples=project.pop("voice_samples", ["Short lines. Real numbers. No hype."]),
        pillars=project.pop("pillars", ["Customer retention", "B2B content strategy"]),
        now=now,
        status=project_status,
    )
    kb = "Customers with a personal onboarding call churn 38% less in their first year."
    await projects.add_kb_document(
        db=db,
        project_id=proj.id,
        title="Retention notes",
        text=kb,
        source=None,
        passages=split_passages(kb),
        now=now,
    )
    live, _ = await make_key(db, settings, ws.id, "live")
    test, _ = await make_key(db, settings, ws.id, "test")
    return Tenant(workspace_id=ws.id, project_id=proj.id, live_key=live, test_key=test)


def generation_body(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"projectId": tenant.project_id, "source": {"text": SOURCE_TEXT}}
    body.update(overrides)
    return body
