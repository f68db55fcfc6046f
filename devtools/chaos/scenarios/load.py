"""Mixed traffic for a while at a steady rate, with the memory of API and worker sampled."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from pathlib import Path

import httpx

from devtools.chaos.context import Context
from devtools.chaos.report import Result
from devtools.chaos.traffic import submit
from devtools.tenants import Tenant

ALLOWED = {200, 202, 402, 429}


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def _job(ctx: Context, tenant: Tenant, mode: str, statuses: Counter[int]) -> None:
    submitted = await submit(ctx.http, tenant, mode=mode)  # type: ignore[arg-type]
    statuses[submitted.status] += 1
    if submitted.job_id is None:
        return
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        response = await ctx.http.get(f"/v1/jobs/{submitted.job_id}", headers=tenant.headers(mode))  # type: ignore[arg-type]
        statuses[response.status_code] += 1
        if response.status_code != 200:
            continue
        job = response.json()["data"]
        if job["status"] in ("DONE", "FAILED", "CANCELLED"):
            post = (job.get("result") or {}).get("postId")
            if post:
                read = await ctx.http.get(f"/v1/posts/{post}", headers=tenant.headers(mode))  # type: ignore[arg-type]
                statuses[read.status_code] += 1
            return
    statuses[-1] += 1  # never finished within 2 minutes


async def _read(ctx: Context, tenant: Tenant, rng: random.Random, statuses: Counter[int]) -> None:
    path = rng.choice(
        [
            "/v1/jobs?limit=20",
            "/v1/projects",
            "/v1/workspaces/me",
            f"/v1/posts?projectId={tenant.project_id}&limit=10",
        ]
    )
    try:
        response = await ctx.http.get(path, headers=tenant.headers("test"))
        statuses[response.status_code] += 1
    except httpx.HTTPError:
        statuses[0] += 1


async def mixed_load(ctx: Context, *, seconds: float, rate: float) -> Result:
    result = Result(
        "Sustained mixed load",
        f"{rate:g} jobs/s (80 % test keys, 10 % live keys on the fake LLM at 300 ms, 10 % to "
        f"capped or rate-limited workspaces) with polling every 1 s, post reads and "
        f"{2 * rate:g} list/read requests/s",
        f"{seconds / 60:.1f} minutes",
        "no status but 2xx, 402 and 429; every job finished; RSS of API and worker sampled "
        "(every ≤ 5 s): the last third's median within 15 % + 10 MB of the first third's "
        "(after a 20 % warm-up)",
    )
    main = await ctx.tenant("chaos-load", rate_limit=1_000_000)
    capped = await ctx.tenant("chaos-load-capped", plan="SOLO", cap_cents=1)
    limited = await ctx.tenant("chaos-load-limited", rate_limit=30)
    await ctx.llm(latency_ms=300)
    rng = random.Random(5)
    statuses: Counter[int] = Counter()
    samples: dict[str, list[tuple[float, float]]] = {"api": [], "worker": []}
    tasks: set[asyncio.Task[None]] = set()
    started = time.monotonic()

    every = max(1.0, min(5.0, seconds / 40))

    async def sample_memory() -> None:
        while True:
            for name in samples:
                value = rss_mb(ctx.stack.children[name].pid)
                if value is not None:
                    samples[name].append((time.monotonic() - started, value))
            await asyncio.sleep(every)

    sampler = asyncio.create_task(sample_memory())
    jobs = 0
    next_job = next_read = started
    while time.monotonic() - started < seconds:
        now = time.monotonic()
        if now >= next_job:
            roll = rng.random()
            tenant, mode = (
                (main, "test")
                if roll < 0.8
                else (main, "live")
                if roll < 0.9
                else (capped, "test")
                if roll < 0.95
                else (limited, "test")
            )
            tasks.add(asyncio.create_task(_job(ctx, tenant, mode, statuses)))
            jobs += 1
            next_job += rng.expovariate(rate)
        if now >= next_read:
            tasks.add(asyncio.create_task(_read(ctx, main, rng, statuses)))
            next_read += rng.expovariate(2 * rate)
        tasks = {t for t in tasks if not t.done()}
        await asyncio.sleep(max(0.0, min(next_job, next_read) - time.monotonic()))
    await asyncio.gather(*tasks)
    sampler.cancel()
    await ctx.audit_into(result, main.workspace_id, capped.workspace_id, limited.workspace_id)
    result.figures["jobs submitted"] = jobs
    result.figures["HTTP statuses"] = dict(sorted(statuses.items()))
    for status in statuses:
        result.expect(status in ALLOWED, f"{statuses[status]}× status {status}")
    for name, series in samples.items():
        values = [mb for t, mb in series if t >= 0.2 * seconds]
        if len(values) < 6:
            result.expect(False, f"too few {name} memory samples")
            continue
        third = len(values) // 3
        first, last = statistics.median(values[:third]), statistics.median(values[-third:])
        result.figures[f"{name} RSS MB (first → last third)"] = f"{first:.0f} → {last:.0f}"
        result.expect(last <= first * 1.15 + 10, f"{name} memory grew {first:.0f} → {last:.0f} MB")
    result.seconds = time.monotonic() - started
    return result
