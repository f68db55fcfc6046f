"""Workspaces, keys and projects for tests and tools, made through the product's own
repositories (the one place test data is shaped; the CLI is the operators' way)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cli.demo import create_demo_project
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


@dataclass(frozen=True)
class Tenant:
    workspace_id: str
    project_id: str
    live_key: str
    test_key: str
    live_key_id: str
    test_key_id: str

    def headers(self, mode: Literal["live", "test"] = "test", /, **extra: str) -> dict[str, str]:
        key = self.live_key if mode == "live" else self.test_key
        return {"Authorization": f"Bearer {key}", **extra}


def generation_body(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/posts/generations body for the tenant's project."""
    body: dict[str, Any] = {"projectId": tenant.project_id, "source": {"text": SOURCE_TEXT}}
    body.update(overrides)
    return body


async def make_key(
    db: Database,
    secret: bytes,
    workspace_id: str,
    mode: Literal["live", "test"],
    *,
    expires_at: datetime | None = None,
) -> tuple[str, str]:
    """Mint a key as ``scripe keys create`` does: (the full key, its id)."""
    token = new_api_key(mode)
    key = await api_keys.create_api_key(
        db=db,
        workspace_id=workspace_id,
        mode=mode,
        name=f"{mode} key",
        key_hash=hash_api_key(secret, token),
        last4=token[-4:],
        expires_at=expires_at,
        now=datetime.now(UTC),
    )
    return token, key.id


async def make_tenant(
    db: Database,
    secret: bytes,
    *,
    name: str = "Test Workspace",
    plan: str = "SOLO",
    cap_cents: int | None = None,
    rate_limit: int | None = 10_000,
    project_status: str = "ACTIVE",
    demo_voice: bool = False,
) -> Tenant:
    """A workspace with a live and a test key and one project.

    The project has a short voice and one knowledge-base passage, or with ``demo_voice``
    the demo project of ``scripe run`` (full tone profile, samples, pillars, documents).
    """
    now = datetime.now(UTC)
    ws = await workspaces.create_workspace(db=db, name=name, plan=plan, now=now)
    await workspaces.update_workspace(
        db=db, workspace_id=ws.id, daily_cap_cents=cap_cents, rate_limit_per_minute=rate_limit
    )
    if demo_voice:
        project = await create_demo_project(db, workspace_id=ws.id, now=now)
    else:
        project = await projects.create_project(
            db=db,
            workspace_id=ws.id,
            name="Northwind Growth",
            type="PERSONAL_BRAND",
            language="en",
            url=None,
            tone_profile={"cta": "What would you add?", "person": "I"},
            voice_samples=["Short lines. Real numbers. No hype."],
            pillars=["Customer retention", "B2B content strategy"],
            now=now,
        )
        kb = "Customers with a personal onboarding call churn 38% less in their first year."
        await projects.add_kb_document(
            db=db,
            project_id=project.id,
            title="Retention notes",
            text=kb,
            source=None,
            passages=split_passages(kb),
            now=now,
        )
    if project_status != project.status:
        await projects.update_project(
            db=db, project_id=project.id, now=now, changes={"status": project_status}
        )
    live, live_id = await make_key(db, secret, ws.id, "live")
    test, test_id = await make_key(db, secret, ws.id, "test")
    return Tenant(ws.id, project.id, live, test, live_id, test_id)
