"""The API while Temporal or the database is down: 503 ``service_unavailable``
with ``Retry-After`` within 2 s, reads that need neither keep working, and recovery on its
own once the dependency is back — the same app instance, nothing restarted."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from contracts import SEARCH_ATTRIBUTES
from db.engine import Database
from devtools.serving import free_port, serve
from devtools.tenants import Tenant, generation_body, make_tenant
from tests.utils.envelope import assert_envelope
from tests.utils.jobs import done_job
from tests.utils.sqlite_lock import write_lock_held
from tests.utils.stack import TEMPORAL_CLI, Stack

BOUND_SECONDS = 2.0


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response, seconds: float) -> None:
    assert seconds < BOUND_SECONDS, f"answered after {seconds:.2f} s"
    assert_envelope(response, 503, "service_unavailable")
    assert int(response.headers["retry-after"]) > 0


async def dev_server(port: int) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        port=port,
        dev_server_existing_path=str(TEMPORAL_CLI),
        search_attributes=list(SEARCH_ATTRIBUTES),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    )


async def test_while_temporal_is_down_submissions_are_503_fast_reads_work_and_it_recovers(
    stack: Stack, tenant: Tenant
) -> None:
    known = await done_job(stack, tenant)
    port = free_port()
    server = await dev_server(port)
    settings = stack.settings.model_copy(
        update={
            "temporal_task_queue": f"outage-{uuid.uuid4().hex[:8]}",
            "admission_timeout_ms": 300,
        }
    )
    app = create_app(settings, clock=stack.clock, temporal_client=server.client, migrate=False)
    try:
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            assert (await http.get("/v1/health")).status_code == 200
            await server.shutdown()

            for _ in range(3):
                response, seconds = await timed(
                    http.post(
                        "/v1/posts/generations",
                        json=generation_body(tenant),
                        headers=tenant.headers(),
                    )
                )
                assert_unavailable(response, seconds)
            health, seconds = await timed(http.get("/v1/health"))
            assert health.status_code == 503 and seconds < BOUND_SECONDS
            assert health.headers["retry-after"] and health.json()["status"] == "degraded"
            # Reads come from the database: they do not need Temporal.
            read = await http.get(f"/v1/jobs/{known['id']}", headers=tenant.headers())
            assert read.status_code == 200 and read.json()["data"]["status"] == "DONE"

            server = await dev_server(port)  # the same address: the API reconnects by itself
            accepted = await http.post(
                "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers()
            )
            assert accepted.status_code == 202, accepted.text
            assert (await http.get("/v1/health")).status_code == 200
    finally:
        await server.shutdown()


async def test_a_temporal_that_never_answers_is_503_after_the_admission_bound(
    stack: Stack, tenant: Tenant
) -> None:
    """A partition (connections accepted, nothing answered) looks like a slow server: the
    API waits out the admission bound, then cannot confirm the start and answers 503 —
    never 202 for a job whose workflow may not exist."""
    async with black_hole() as port:
        silent = await Client.connect(
            f"127.0.0.1:{port}", lazy=True, data_converter=pydantic_data_converter
        )
        settings = stack.settings.model_copy(update={"admission_timeout_ms": 1000})
        app = create_app(settings, clock=stack.clock, temporal_client=silent, migrate=False)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            response, seconds = await timed(
                http.post(
                    "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers()
                )
            )
    assert_envelope(response, 503, "service_unavailable")
    assert seconds < 1.0 + 1.0 + 2.0 + 0.5  # admission, probe, describe, slack
    listed = await stack.http.get("/v1/jobs", headers=tenant.headers())
    assert listed.json()["data"] == []  # the unacknowledged row stays invisible


async def test_while_sqlite_is_locked_writes_are_503_fast_and_reads_still_work(
    stack: Stack, tenant: Tenant
) -> None:
    known = await done_job(stack, tenant)
    path = Path(stack.settings.database_url.split("///", 1)[1])
    with write_lock_held(path):
        # Several at once: those queued behind the first writer share its lock-wait budget.
        answers = await asyncio.gather(
            *(
                timed(
                    stack.http.post(
                        "/v1/posts/generations",
                        json=generation_body(tenant),
                        headers=tenant.headers(),
                    )
                )
                for _ in range(8)
            )
        )
        for response, seconds in answers:
            assert_unavailable(response, seconds)
        read, seconds = await timed(
            stack.http.get(f"/v1/jobs/{known['id']}", headers=tenant.headers())
        )
        assert read.status_code == 200 and seconds < BOUND_SECONDS
    after = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=10_000),
        headers=tenant.headers(),
    )
    assert after.status_code == 200 and after.json()["data"]["status"] == "DONE"


# --- PostgreSQL ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[int]:
    """A port that accepts connections and never answers (a stuck server or network)."""
    sockets: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sockets.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in sockets:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.mark.postgres
@pytest.mark.parametrize("server", ["refusing", "black hole"])
async def test_an_unreachable_postgres_is_503_within_the_bound(
    stack: Stack, postgres_url: str, server: str
) -> None:
    async with contextlib.AsyncExitStack() as exits:
        port = (
            free_port() if server == "refusing" else await exits.enter_async_context(black_hole())
        )
        url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")
        assert url != postgres_url
        settings = stack.settings.model_copy(update={"database_url": url})
        app = create_app(settings, temporal_client=stack.client, migrate=False)
        url = await exits.enter_async_context(serve(app))
        http = await exits.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
        headers = {"Authorization": "Bearer scripe_sk_live_" + "a" * 32}
        response, seconds = await timed(http.get("/v1/workspaces/me", headers=headers))
        assert_unavailable(response, seconds)
        health, seconds = await timed(http.get("/v1/health"))
        assert health.status_code == 503 and seconds < BOUND_SECONDS
        assert health.json()["checks"]["db"] == "unavailable"


@pytest.fixture
async def postgres_api(
    stack: Stack, postgres_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Tenant]]:
    settings = stack.settings.model_copy(update={"database_url": postgres_url})
    db = Database(postgres_url)
    tenant = await make_tenant(db, settings.signing_key())
    await db.dispose()
    app = create_app(settings, temporal_client=stack.client, migrate=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http, tenant


@pytest.mark.postgres
async def test_terminated_postgres_connections_recover_by_themselves(
    postgres_api: tuple[httpx.AsyncClient, Tenant], postgres_url: str
) -> None:
    http, tenant = postgres_api
    assert (await http.get("/v1/workspaces/me", headers=tenant.headers())).status_code == 200
    admin = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        terminated = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert terminated >= 1
    # The pool notices the dead connections on checkout and opens new ones.
    for _ in range(5):
        response, seconds = await timed(http.get("/v1/workspaces/me", headers=tenant.headers()))
        assert response.status_code == 200 and seconds < BOUND_SECONDS


@pytest.mark.postgres
async def test_a_postgres_lock_wait_is_cut_at_the_bound_with_503(
    postgres_api: tuple[httpx.AsyncClient, Tenant], postgres_url: str
) -> None:
    http, tenant = postgres_api
    admin = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        async with admin.transaction():
            await admin.execute("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
            response, seconds = await timed(http.get("/v1/workspaces/me", headers=tenant.headers()))
            assert_unavailable(response, seconds)
    finally:
        await admin.close()
    assert (await http.get("/v1/workspaces/me", headers=tenant.headers())).status_code == 200
