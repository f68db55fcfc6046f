"""Fixtures of both tiers: migrated application databases (SQLite in the session's
directory; PostgreSQL at 127.0.0.1:5432 in a fresh database per run) and Redis.

Only the data layer is imported here: the API, the worker and the dev tools belong to the
tier that needs them (tests/unit/conftest.py builds the API in process,
tests/integration/conftest.py starts the servers), so collecting the unit tier never
imports a server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.engine import Database
from db.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "SCRIPE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SCRIPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# --- databases --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scripe")


@pytest.fixture(scope="session")
async def sqlite_db(session_dir: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{session_dir / 'ledger.db'}"
    await upgrade(url)
    db = Database(url)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    import asyncpg

    name = f"scripe_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as err:
        if os.environ.get("SCRIPE_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required but unreachable at {POSTGRES_ADMIN_URL}: {err}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    await upgrade(url)
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def postgres_db(postgres_url: str) -> AsyncIterator[Database]:
    db = Database(postgres_url, pool_size=20)
    yield db
    await db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest) -> Database:
    """Run the test once on SQLite and once on PostgreSQL."""
    db: Database = request.getfixturevalue(f"{request.param}_db")
    return db


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as err:
        if os.environ.get("SCRIPE_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required but unreachable at {REDIS_URL}: {err}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    return REDIS_URL
