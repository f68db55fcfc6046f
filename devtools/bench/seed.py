"""The bench's customer: an ENTERPRISE workspace (no spend cap), a rate limit high enough
never to answer 429, a live key (the real openai SDK path) and the demo project."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cli.demo import KB_DOCUMENTS, PILLARS, TONE_PROFILE, VOICE_SAMPLES
from config import Settings
from db.engine import Database
from db.migrate import upgrade
from db.repo import api_keys as keys_repo
from db.repo import projects as projects_repo
from db.repo import workspaces as workspaces_repo
from domain.plans import Plan
from domain.retrieval import split_passages
from ids import new_api_key
from services.auth import hash_api_key

# Far above what two cores can submit in a minute: the bench measures the pipeline, not 429.
BENCH_RATE_LIMIT_PER_MINUTE = 10_000_000


@dataclass(frozen=True)
class BenchTenant:
    workspace_id: str
    project_id: str
    api_key: str


async def seed(settings: Settings) -> BenchTenant:
    """Migrate the database and create the tenant through the product's repositories."""
    await upgrade(settings.database_url)
    db = Database(settings.database_url)
    now = datetime.now(UTC)
    try:
        workspace = await workspaces_repo.create_workspace(
            db=db, name="Bench", plan=Plan.ENTERPRISE, now=now
        )
        await workspaces_repo.update_workspace(
            db=db, workspace_id=workspace.id, rate_limit_per_minute=BENCH_RATE_LIMIT_PER_MINUTE
        )
        project = await projects_repo.create_project(
            db=db,
            workspace_id=workspace.id,
            name="Bench — Growth Marketing",
            type="PERSONAL_BRAND",
            language="en",
            url=None,
            tone_profile=TONE_PROFILE,
            voice_samples=VOICE_SAMPLES,
            pillars=PILLARS,
            now=now,
        )
        for title, text in KB_DOCUMENTS:
            await projects_repo.add_kb_document(
                db=db,
                project_id=project.id,
                title=title,
                text=text,
                source="bench",
                passages=split_passages(text),
                now=now,
            )
        token = new_api_key("live")
        await keys_repo.create_api_key(
            db=db,
            workspace_id=workspace.id,
            mode="live",
            name="bench",
            key_hash=hash_api_key(settings.signing_key(), token),
            last4=token[-4:],
            expires_at=None,
            now=now,
        )
    finally:
        await db.dispose()
    return BenchTenant(workspace_id=workspace.id, project_id=project.id, api_key=token)
