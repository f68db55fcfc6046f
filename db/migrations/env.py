"""Alembic environment: runs migrations on the async engine for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from db.engine import Database
from db.tables import Base, UtcDateTime

target_metadata = Base.metadata
# A fixed key: concurrent starts (API and worker replicas) migrate one at a time.
_PG_LOCK_KEY = 7_261_901_123


def _url() -> str:
    url = context.config.attributes.get("url")
    if url:
        return str(url)
    from config import get_settings

    return get_settings().database_url


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Migrations must not import application code: UtcDateTime is a plain DateTime."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        context.run_migrations()


async def _run_online() -> None:
    database = Database(_url())
    try:
        # On SQLite the migration transaction starts with BEGIN IMMEDIATE: a second
        # process waits for the first to finish and then finds nothing left to do.
        async with database.engine.connect() as connection:
            connection = await connection.execution_options(scripe_begin_immediate=True)
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await database.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run them against a database")
connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_online())
