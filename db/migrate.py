"""Apply Alembic migrations: called at start by every process, and by ``scripe db upgrade``.

Alembic (with Mako) is about 8 MB of a process's memory once imported, and a process that
starts against a database already at the newest revision (the API and the worker after
``scripe stack`` or a deploy's migration step, every restart) does not need it: ``upgrade``
first reads the database's revision with one query and imports Alembic only when there is
something to do.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

_SCRIPTS = Path(__file__).with_name("migrations")
# The newest revision in migrations/versions. A new migration updates it; the unit test
# tests/unit/db/test_migrate_head.py fails until it does.
HEAD_REVISION = "0004"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["url"] = url
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    from alembic import command

    database_file = _sqlite_file(url)
    if database_file is not None:
        database_file.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


async def current_revision(url: str) -> str | None:
    """The revision the database is at; ``None`` for a new database (or one that cannot be
    read: Alembic then reports why)."""
    database_file = _sqlite_file(url)
    if database_file is not None and not database_file.exists():
        return None  # connecting would create the file; Alembic makes its folder first
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
    except (SQLAlchemyError, OSError):
        return None  # no alembic_version table yet, or no server: Alembic says which
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate to ``revision``; nothing to do (and Alembic not imported) when the database
    is at the head already. Alembic's env runs its own event loop, so it goes to a thread."""
    if revision == "head" and await current_revision(url) == HEAD_REVISION:
        return
    await asyncio.to_thread(upgrade_sync, url, revision)


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (``sqlite+aiosqlite:///path``); None otherwise."""
    return Path(url.split("///", 1)[1]) if url.startswith("sqlite") else None
