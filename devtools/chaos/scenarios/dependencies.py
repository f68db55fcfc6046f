"""Dependencies misbehaving: the LLM provider's faults, the database locked."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from devtools.chaos.context import Context
from devtools.chaos.report import Result
from devtools.chaos.scenarios.processes import CHECKED, feed
from devtools.chaos.traffic import (
    ProbeLog,
    probe_outage,
    seconds_until_accepted,
    submit_until_accepted,
    wait_final,
)

LLM_FAULTS = ["429", "500", "hang", "malformed", "refusal"]


async def llm_faults(ctx: Context) -> Result:
    jobs = 60 if ctx.short else 200
    rate = 0.35
    result = Result(
        "LLM provider faults",
        f"fake LLM answers {rate:.0%} of calls with one of: 429 + Retry-After: 1, 500, a hang "
        "(client timeout 3 s), a malformed body, a refusal",
        f"{jobs} jobs",
        CHECKED + "; refusals fail as provider_rejected without retry; transient faults "
        "retried (attempts counted)",
    )
    tenant = await ctx.tenant("chaos-llm-faults")
    await ctx.llm(latency_ms=50, fault_rate=rate, faults=LLM_FAULTS, retry_after="1")
    before = await ctx.llm_stats()
    started = time.monotonic()
    try:
        submissions = await feed(ctx, tenant, jobs, per_second=10)
        unfinished = await wait_final(
            ctx.db, {s.job_id for s in submissions if s.job_id}, timeout=600
        )
    finally:
        await ctx.llm()
    after = await ctx.llm_stats()
    injected = {
        f: after.get(f"behaviour:{f}", 0) - before.get(f"behaviour:{f}", 0) for f in LLM_FAULTS
    }
    result.expect(not unfinished, f"{len(unfinished)} jobs never finished")
    found = await ctx.audit_into(result, tenant.workspace_id)
    billed = after.get("billed_calls", 0) - before.get("billed_calls", 0)
    result.figures.update(
        {"faults injected": injected, "attempts": found.attempts, "provider calls billed": billed}
    )
    result.expect(all(n > 0 for n in injected.values()), "some fault was never injected")
    result.expect(found.charges == billed, f"charges {found.charges} != billed calls {billed}")
    result.expect(
        found.error_codes.get("provider_rejected", 0) <= injected["refusal"],
        "more provider_rejected failures than refusals",
    )
    result.seconds = time.monotonic() - started
    return result


def _hold_exclusive(path: Path, seconds: float, held: threading.Event) -> None:
    """A connection in BEGIN EXCLUSIVE: no other connection can write until it ends."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        held.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
    finally:
        connection.close()


async def sqlite_locked(ctx: Context) -> Result:
    jobs, locks, hold = (30, 2, 3.0) if ctx.short else (100, 5, 4.0)
    result = Result(
        "Application database locked (SQLite)",
        f"another connection holds BEGIN EXCLUSIVE on the SQLite file for {hold:.0f} s "
        "mid-run (writers blocked); API probed meanwhile",
        f"{locks} locks during {jobs} jobs",
        CHECKED + "; while locked: 503 service_unavailable + Retry-After within 2 s, or "
        "2xx (reads within 2 s, submissions within the 5 s admission bound); writes "
        "accepted again once released",
    )
    if not ctx.stack.settings.is_sqlite:
        result.figures["skipped"] = "not on SQLite"
        return result
    path = Path(ctx.stack.settings.database_url.split("///", 1)[1])
    tenant = await ctx.tenant("chaos-db-lock")
    await ctx.llm(latency_ms=300)
    started = time.monotonic()
    feeding = asyncio.create_task(feed(ctx, tenant, jobs, per_second=5))
    first = await submit_until_accepted(ctx.http, tenant, "probe-target", mode="test")
    assert first.job_id is not None
    probes = ProbeLog()
    recoveries = []
    for _ in range(locks):
        await asyncio.sleep(1.5)  # work in flight before the lock
        held = threading.Event()
        holder = asyncio.create_task(asyncio.to_thread(_hold_exclusive, path, hold, held))
        while not held.is_set():
            await asyncio.sleep(0.01)
        stop = asyncio.Event()
        prober = asyncio.create_task(probe_outage(ctx.http, tenant, first.job_id, stop, probes))
        await holder
        stop.set()
        await prober
        recoveries.append(await seconds_until_accepted(ctx.http, tenant, interval=0.1))
    submissions = await feeding
    await ctx.expect_finished(result, submissions)
    await ctx.audit_into(result, tenant.workspace_id)
    result.figures.update(
        {
            "requests while locked": probes.count,
            "answers": probes.statuses(),
            "slowest 503 s": probes.slowest_503,
            "slowest 2xx s": probes.slowest_2xx,
            "seconds until POST accepted after release": recoveries,
        }
    )
    result.expect(not probes.improper, f"improper answers while locked: {probes.improper[:3]}")
    post_statuses = probes.statuses().get("POST /v1/posts/generations", {})
    result.expect(503 in post_statuses, "no write was refused while locked (lock ineffective?)")
    result.seconds = time.monotonic() - started
    return result
