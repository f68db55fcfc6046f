"""Processes dying: the worker killed mid-generation, the Temporal server stopped."""

from __future__ import annotations

import asyncio
import random
import signal
import time

from devtools.chaos.context import Context
from devtools.chaos.report import Result
from devtools.chaos.traffic import (
    ProbeLog,
    Submission,
    probe_outage,
    seconds_until_accepted,
    submit_until_accepted,
)
from devtools.tenants import Tenant

CHECKED = (
    "every job DONE/FAILED with a documented code; reservations settled or released; "
    "bucket reserved = open reservations, spent = charges; ≤ 1 post per job; charge keys "
    "unique; workflows closed as the rows say"
)


async def feed(ctx: Context, tenant: Tenant, count: int, per_second: float) -> list[Submission]:
    """Submit ``count`` live-key jobs at a steady rate, each retried with its key on 503."""

    async def one(i: int) -> Submission:
        await asyncio.sleep(i / per_second)
        return await submit_until_accepted(ctx.http, tenant, f"job-{i}", timeout=300)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def worker_kill(ctx: Context) -> Result:
    jobs, kills = (40, 3) if ctx.short else (200, 10)
    result = Result(
        "Worker killed mid-generation",
        "kill -9 of the worker while LLM calls are in flight (live keys, fake LLM 1.5 s "
        "latency); worker restarted at once",
        f"{kills} kills during {jobs} jobs",
        CHECKED + "; provider calls answered vs charges booked",
    )
    tenant = await ctx.tenant("chaos-worker-kill")
    await ctx.llm(latency_ms=1500)
    before = await ctx.llm_stats()
    started = time.monotonic()
    # Spread the jobs over the kills (about 5 s apart) so that every kill finds calls.
    feeding = asyncio.create_task(feed(ctx, tenant, jobs, per_second=jobs / (kills * 5)))
    in_flight_at_kills = []
    rng = random.Random(7)
    worker = ctx.stack.children["worker"]
    for _ in range(kills):
        await _until_llm_busy(ctx)
        await asyncio.sleep(rng.uniform(0.1, 1.2))  # land somewhere inside the 1.5 s call
        in_flight_at_kills.append((await ctx.llm_stats()).get("inflight", 0))
        worker.kill9()
        await ctx.stack.restart_worker()
        await asyncio.sleep(rng.uniform(1.0, 3.0))  # the schedule of the next kill
    submissions = await feeding
    await ctx.expect_finished(result, submissions)
    after = await ctx.llm_stats()
    found = await ctx.audit_into(result, tenant.workspace_id)
    billed = after.get("billed_calls", 0) - before.get("billed_calls", 0)
    result.figures.update(
        {
            "kills": kills,
            "LLM calls in flight at each kill": in_flight_at_kills,
            "provider calls answered": billed,
            "attempts": found.attempts,
            "calls answered but lost with a killed worker (not billed)": billed - found.charges,
        }
    )
    result.expect(sum(in_flight_at_kills) > 0, "no kill landed during an LLM call")
    result.expect(found.charges <= billed, "more charges than provider calls")
    result.seconds = time.monotonic() - started
    return result


async def _until_llm_busy(ctx: Context, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (await ctx.llm_stats()).get("inflight", 0) == 0:
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.05)


async def temporal_restart(ctx: Context) -> Result:
    jobs = 30 if ctx.short else 100
    ways = [signal.SIGKILL] if ctx.short else [signal.SIGKILL, signal.SIGTERM]
    down_seconds = 5.0
    result = Result(
        "Temporal server stopped and restarted",
        f"the dev server (persistent --db-filename) stopped ({'/'.join(s.name for s in ways)}) "
        f"for {down_seconds:.0f} s mid-run, then started again; API probed while down",
        f"{len(ways)} restarts during {jobs} jobs",
        CHECKED + "; while down: 503 service_unavailable + Retry-After within 2 s, or 2xx "
        "(reads within 2 s); recovery without restarting API or worker",
    )
    tenant = await ctx.tenant("chaos-temporal-restart")
    await ctx.llm(latency_ms=500)
    started = time.monotonic()
    feeding = asyncio.create_task(feed(ctx, tenant, jobs, per_second=4))
    probes = ProbeLog()
    recoveries = []
    first = await _first_job(ctx, tenant)
    temporal = ctx.stack.children["temporal"]
    for way in ways:
        await asyncio.sleep(2)  # let work pile up in flight
        stop = asyncio.Event()
        prober = asyncio.create_task(probe_outage(ctx.http, tenant, first, stop, probes))
        if way is signal.SIGKILL:
            temporal.kill9()
        else:
            temporal.stop()
        await asyncio.sleep(down_seconds)  # the outage itself
        stop.set()
        await prober
        await ctx.stack.restart_temporal()
        recoveries.append(await _seconds_until_accepting(ctx, tenant))
    submissions = await feeding
    worker_survived = ctx.stack.children["worker"].alive()
    if not worker_survived:
        await ctx.stack.restart_worker()
    await ctx.expect_finished(result, submissions)
    await ctx.audit_into(result, tenant.workspace_id)
    result.figures.update(
        {
            "requests while down": probes.count,
            "answers": probes.statuses(),
            "slowest 503 s": probes.slowest_503,
            "slowest 2xx s": probes.slowest_2xx,
            "seconds until POST accepted again": recoveries,
            "worker survived": worker_survived,
        }
    )
    result.expect(not probes.improper, f"improper answers while down: {probes.improper[:3]}")
    result.expect(worker_survived, "the worker died with the Temporal server")
    result.seconds = time.monotonic() - started
    return result


async def _first_job(ctx: Context, tenant: Tenant) -> str:
    accepted = await submit_until_accepted(ctx.http, tenant, "probe-target", mode="test")
    assert accepted.job_id is not None
    return accepted.job_id


async def _seconds_until_accepting(ctx: Context, tenant: Tenant) -> float:
    return await seconds_until_accepted(ctx.http, tenant, interval=0.2)
