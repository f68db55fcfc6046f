"""The application database on PostgreSQL going away: connections cut and refused for a
while (a proxy in front of the server), and backends terminated by the server."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx

from db.engine import Database
from devtools.chaos.context import Context
from devtools.chaos.proxy import TcpProxy
from devtools.chaos.report import Result
from devtools.chaos.scenarios.processes import CHECKED, feed
from devtools.chaos.stack import ChaosStack
from devtools.chaos.traffic import (
    ProbeLog,
    probe_outage,
    seconds_until_accepted,
    submit_until_accepted,
)

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PORT_SHIFT = 20  # the PostgreSQL stack runs beside the SQLite one
PROXY_PORT_OFFSET = 432  # the proxy listens on the stack's API port + 432 (28452)


async def postgres_outage(ctx: Context) -> Result:
    jobs, cuts, terminations, down = (30, 1, 1, 5.0) if ctx.short else (100, 2, 3, 5.0)
    result = Result(
        "Application database on PostgreSQL cut off",
        f"API and worker reach PostgreSQL through a proxy that is cut for {down:.0f} s "
        "(open connections dropped, new ones refused); then pg_terminate_backend of every "
        "connection of the database",
        f"{cuts} cuts and {terminations} mass terminations during {jobs} jobs",
        CHECKED + "; while cut: 503 service_unavailable + Retry-After within 2 s; recovery "
        "without restarting API or worker",
    )
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError) as err:
        result.figures["skipped"] = f"PostgreSQL unreachable: {err}"
        return result
    name = f"scripe_chaos_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    ports = ctx.stack.ports.shifted(PORT_SHIFT)
    proxy = TcpProxy(ports.api + PROXY_PORT_OFFSET, "127.0.0.1", 5432)
    await proxy.start()
    stack = ChaosStack(
        root=ctx.stack.root / "postgres",
        ports=ports,
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{name}",
    )
    started = time.monotonic()
    try:
        await stack.start()
        # The audit reads past the proxy.
        db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
            pg = Context(stack, db, await stack.temporal_client(), http, ctx.short)
            await _run(pg, result, proxy, admin, name, jobs, cuts, terminations, down)
        await db.dispose()
    finally:
        stack.stop()
        await proxy.cut()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    result.seconds = time.monotonic() - started
    return result


async def _run(
    ctx: Context,
    result: Result,
    proxy: TcpProxy,
    admin: asyncpg.Connection,
    name: str,
    jobs: int,
    cuts: int,
    terminations: int,
    down: float,
) -> None:
    tenant = await ctx.tenant("chaos-postgres")
    await ctx.llm(latency_ms=500)
    feeding = asyncio.create_task(feed(ctx, tenant, jobs, per_second=4))
    first = await submit_until_accepted(ctx.http, tenant, "probe-target", mode="test")
    assert first.job_id is not None
    probes = ProbeLog()
    recoveries: list[float] = []
    for _ in range(cuts):
        await asyncio.sleep(2)  # work in flight
        stop = asyncio.Event()
        await proxy.cut()
        prober = asyncio.create_task(probe_outage(ctx.http, tenant, first.job_id, stop, probes))
        await asyncio.sleep(down)  # the outage itself
        stop.set()
        await prober
        await proxy.start()
        recoveries.append(await seconds_until_accepted(ctx.http, tenant, interval=0.1))
    killed = []
    for _ in range(terminations):
        await asyncio.sleep(2)
        killed.append(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        )
    submissions = await feeding
    await ctx.expect_finished(result, submissions)
    await ctx.audit_into(result, tenant.workspace_id)
    result.figures.update(
        {
            "requests while cut": probes.count,
            "answers": probes.statuses(),
            "slowest 503 s": probes.slowest_503,
            "slowest 2xx s": probes.slowest_2xx,
            "seconds until POST accepted after reconnect": recoveries,
            "backends terminated": killed,
            "worker survived": ctx.stack.children["worker"].alive(),
            "API survived": ctx.stack.children["api"].alive(),
        }
    )
    result.expect(not probes.improper, f"improper answers while cut: {probes.improper[:3]}")
    result.expect(ctx.stack.children["worker"].alive(), "the worker died")
