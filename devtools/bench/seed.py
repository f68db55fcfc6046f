"""The bench's customer: an ENTERPRISE workspace (no spend cap), a rate limit high enough
never to answer 429, the demo project, and the live key (the real openai SDK path) the
bench uses."""

from __future__ import annotations

from config import Settings
from db.engine import Database
from db.migrate import upgrade
from devtools.tenants import Tenant, make_tenant

# Far above what two cores can submit in a minute: the bench measures the pipeline, not 429.
BENCH_RATE_LIMIT_PER_MINUTE = 10_000_000


async def seed(settings: Settings) -> Tenant:
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
    return tenant
