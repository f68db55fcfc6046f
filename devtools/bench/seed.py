"""The bench's customer: an ENTERPRISE workspace (no spend cap), a rate limit high enough
never to answer 429, a live key (the real openai SDK path) and the demo project."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from db.engine import Database
from db.migrate import upgrade
from devtools.tenants import make_tenant

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
    try:
        tenant = await make_tenant(
            db,
            settings.signing_key(),
            name="Bench",
            plan="ENTERPRISE",
            rate_limit=BENCH_RATE_LIMIT_PER_MINUTE,
            demo_voice=True,
        )
    finally:
        await db.dispose()
    return BenchTenant(
        workspace_id=tenant.workspace_id, project_id=tenant.project_id, api_key=tenant.live_key
    )
