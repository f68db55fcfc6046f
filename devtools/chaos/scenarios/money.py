"""Faults aimed at the money: the application database down for a minute with jobs in
flight, and a model whose calls cost more than the admission estimate against a small cap.

Both run on a stack of their own (their own fake LLM, so its billed-call count is theirs;
their own settings), and sample the workspace's spend buckets while they run: the cap
must hold at every moment, not only once everything has settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import httpx
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from contracts import GENERATION_FAILED, SPEND_CAP_EXCEEDED
from db.engine import Database
from db.tables import Job, SpendBucket, SpendEntry
from devtools.chaos.context import Context
from devtools.chaos.proxy import TcpProxy
from devtools.chaos.report import Result
from devtools.chaos.scenarios.processes import CHECKED, feed
from devtools.chaos.stack import ChaosStack
from devtools.chaos.traffic import Submission, submit, wait_final
from devtools.tenants import Tenant
from domain.money import NANOS_PER_CENT

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Beside the main stack (0) and the PostgreSQL outage stack (20).
OUTAGE_PORT_SHIFT = 60
EXPENSIVE_PORT_SHIFT = 80
PROXY_PORT_OFFSET = 432  # the proxy listens on the stack's API port + 432

CAP_CHECKED = "; spent + reserved ≤ cap in every bucket, sampled every 0.2 s and at the end"


@dataclass
class CapSampler:
    """Reads the workspace's buckets over and over while a scenario runs."""

    db: Database
    workspace_id: str
    cap_nanos: int
    samples: int = 0
    peak_nanos: int = 0
    failed_reads: int = 0
    over: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with self.db.read() as session:
                    buckets = list(
                        await session.scalars(
                            select(SpendBucket).where(SpendBucket.workspace_id == self.workspace_id)
                        )
                    )
            except SQLAlchemyError:
                # A busy database is the scenario's business, not the sampler's: next time.
                self.failed_reads += 1
                buckets = []
            else:
                self.samples += 1
            for bucket in buckets:
                total = bucket.spent_nanos + bucket.reserved_nanos
                self.peak_nanos = max(self.peak_nanos, total)
                if total > self.cap_nanos and len(self.over) < 10:
                    self.over.append(f"{bucket.mode} {bucket.day}: {total} > {self.cap_nanos}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)


@contextlib.asynccontextmanager
async def sampling(sampler: CapSampler, result: Result) -> AsyncIterator[CapSampler]:
    stop = asyncio.Event()
    task = asyncio.create_task(sampler.run(stop))
    try:
        yield sampler
    finally:
        stop.set()
        await task
        result.figures["bucket samples"] = sampler.samples
        result.figures["peak spent+reserved ¢"] = round(sampler.peak_nanos / NANOS_PER_CENT, 2)
        result.figures["cap ¢"] = sampler.cap_nanos // NANOS_PER_CENT
        if sampler.failed_reads:
            result.figures["bucket reads failed"] = sampler.failed_reads
        result.expect(not sampler.over, f"cap exceeded while running: {sampler.over[:3]}")


@contextlib.asynccontextmanager
async def own_stack(
    ctx: Context,
    name: str,
    shift: int,
    *,
    database_url: str | None = None,
    audit_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Context]:
    """A stack of the scenario's own beside the suite's, stopped afterwards; the audit
    reads ``audit_url`` (past a proxy) when given."""
    stack = ChaosStack(
        root=ctx.stack.root / name,
        ports=ctx.stack.ports.shifted(shift),
        database_url=database_url,
        extra_env=extra_env or {},
    )
    try:
        await stack.start()
        db = Database(audit_url) if audit_url else stack.database()
        try:
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
                yield Context(stack, db, await stack.temporal_client(), http, ctx.short)
        finally:
            await db.dispose()
    finally:
        stack.stop()


async def _billed_charges(ctx: Context, result: Result, workspace_id: str) -> None:
    """Every call the provider billed is one charge in the ledger (the fake is the
    scenario's own, so its count starts at zero)."""
    billed = (await ctx.llm_stats()).get("billed_calls", 0)
    async with ctx.db.read() as session:
        charges = await session.scalar(
            select(func.count())
            .select_from(SpendEntry)
            .where((SpendEntry.workspace_id == workspace_id) & (SpendEntry.kind == "charge"))
        )
    result.figures["provider calls billed"] = billed
    result.expect(charges == billed, f"charges {charges} != billed calls {billed}")


# --- the application database down for a minute ------------------------------------------


async def long_db_outage(ctx: Context) -> Result:
    jobs, down = (20, 60.0) if ctx.short else (60, 60.0)
    result = Result(
        "Application database on PostgreSQL down for a minute",
        f"API and worker reach PostgreSQL through a proxy cut for {down:.0f} s (open "
        "connections dropped, new ones refused) right after every job was accepted, "
        "LLM calls (1.5 s) in flight; then restored",
        f"one {down:.0f} s cut with {jobs} jobs in flight",
        CHECKED + CAP_CHECKED + "; every job DONE (database steps retry inside the "
        "attempt, no LLM attempt spent on the outage); provider calls billed = charges",
    )
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError) as err:
        result.figures["skipped"] = f"PostgreSQL unreachable: {err}"
        return result
    name = f"scripe_chaos_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    proxy = TcpProxy(
        ctx.stack.ports.shifted(OUTAGE_PORT_SHIFT).api + PROXY_PORT_OFFSET, "127.0.0.1", 5432
    )
    await proxy.start()
    started = time.monotonic()
    try:
        async with own_stack(
            ctx,
            "long-outage",
            OUTAGE_PORT_SHIFT,
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{name}",
            audit_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
        ) as pg:
            await _outage(pg, result, proxy, jobs, down)
    finally:
        await proxy.cut()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    result.seconds = time.monotonic() - started
    return result


async def _outage(ctx: Context, result: Result, proxy: TcpProxy, jobs: int, down: float) -> None:
    tenant = await ctx.tenant("chaos-long-outage", plan="SOLO")  # the plan's 500¢ cap
    await ctx.llm(latency_ms=1500)
    sampler = CapSampler(ctx.db, tenant.workspace_id, 500 * NANOS_PER_CENT)
    async with sampling(sampler, result):
        submissions = await feed(ctx, tenant, jobs, per_second=10)
        ids = {s.job_id for s in submissions if s.job_id}
        async with ctx.db.read() as session:
            in_flight = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.id.in_(ids) & Job.status.in_(["QUEUED", "RUNNING"]))
            )
        calls = (await ctx.llm_stats()).get("inflight", 0)
        await proxy.cut()
        cut_at = time.monotonic()
        await asyncio.sleep(down)
        await proxy.start()
        restored = time.monotonic()
        await ctx.expect_finished(result, submissions)
        result.figures["seconds cut"] = round(restored - cut_at, 1)
        result.figures["seconds from restore to all final"] = round(time.monotonic() - restored, 1)
    found = await ctx.audit_into(result, tenant.workspace_id)
    await _billed_charges(ctx, result, tenant.workspace_id)
    result.figures["jobs unfinished at the cut"] = in_flight
    result.figures["LLM calls in flight at the cut"] = calls
    result.figures["attempts"] = found.attempts
    result.expect(found.statuses.get("DONE", 0) == len(ids), "not every job ended DONE")
    result.expect(bool(in_flight), "no job was in flight at the cut")
    result.expect(ctx.stack.children["worker"].alive(), "the worker died")
    result.expect(ctx.stack.children["api"].alive(), "the API died")


# --- a model more expensive than the admission estimate ---------------------------------

# USD per 1M tokens: a full answer (1,200 tokens) alone costs 4.8¢, and the call's worst
# case (prompt bound + max_tokens) is above the 5¢ admission estimate, so every call tops
# its hold up and every retry needs a new hold.
EXPENSIVE_PRICES = {"gpt-4o-mini": {"input": 10, "cached_input": 10, "output": 40}}
# Room for about a call per job: jobs retry while others wait, and the cap is reached.
CAP_CENTS_PER_JOB = 5
# Billed answers without text: generation_failed, retried, billed again (up to five times).
BILLED_FAILURE_RATE = 0.6
SUBMISSIONS_PER_SECOND = 3.0


async def _submit_once(ctx: Context, tenant: Tenant, i: int, per_second: float) -> Submission:
    """One live job; a 503 is retried with its key, a 402 (cap) is an answer."""
    await asyncio.sleep(i / per_second)
    key = f"job-{i}"
    deadline = time.monotonic() + 120
    while True:
        submission = await submit(ctx.http, tenant, key=key)
        if submission.status not in (0, 503) or time.monotonic() > deadline:
            return submission
        await asyncio.sleep(1)


async def expensive_model(ctx: Context) -> Result:
    jobs = 30 if ctx.short else 120
    cap_cents = CAP_CENTS_PER_JOB * jobs
    result = Result(
        "Model dearer than the admission estimate, small daily cap",
        "SCRIPE_LLM_PRICES ($10 / $40 per 1M tokens) makes a call cost 5.1¢, its worst case "
        "about 6¢, against the 5¢ admission estimate (fake LLM answers all 1,200 tokens); "
        f"{BILLED_FAILURE_RATE:.0%} of calls are billed "
        "empty answers (retried, up to five billed attempts a job); workspace cap "
        f"{cap_cents}¢, jobs submitted {SUBMISSIONS_PER_SECOND:.0f} a second",
        f"{jobs} jobs",
        CHECKED + CAP_CHECKED + "; every admitted job DONE, FAILED spend_cap_exceeded (a "
        "call's worst case did not fit) or generation_failed (five empty answers); "
        "provider calls billed = charges; a call cost more than the estimate",
    )
    started = time.monotonic()
    env = {"SCRIPE_LLM_PRICES": json.dumps(EXPENSIVE_PRICES)}
    async with own_stack(ctx, "expensive", EXPENSIVE_PORT_SHIFT, extra_env=env) as own:
        await _expensive(own, result, jobs, cap_cents)
    result.seconds = time.monotonic() - started
    return result


async def _expensive(ctx: Context, result: Result, jobs: int, cap_cents: int) -> None:
    tenant = await ctx.tenant("chaos-expensive", plan="SOLO", cap_cents=cap_cents)
    await ctx.llm(
        latency_ms=200,
        completion_tokens=1_000_000,  # capped at the request's max_tokens
        fault_rate=BILLED_FAILURE_RATE,
        faults=["empty"],
    )
    sampler = CapSampler(ctx.db, tenant.workspace_id, cap_cents * NANOS_PER_CENT)
    async with sampling(sampler, result):
        submissions = await asyncio.gather(
            *(_submit_once(ctx, tenant, i, per_second=SUBMISSIONS_PER_SECOND) for i in range(jobs))
        )
        ids = {s.job_id for s in submissions if s.job_id}
        unfinished = await wait_final(ctx.db, ids, timeout=600)
    await ctx.llm()
    answers: dict[int, int] = {}
    for s in submissions:
        answers[s.status] = answers.get(s.status, 0) + 1
    result.expect(not unfinished, f"{len(unfinished)} jobs never finished")
    result.expect(set(answers) <= {202, 402}, f"unexpected answers {answers}")
    found = await ctx.audit_into(result, tenant.workspace_id)
    await _billed_charges(ctx, result, tenant.workspace_id)
    async with ctx.db.read() as session:
        admitted = list(await session.scalars(select(Job).where(Job.id.in_(ids))))
        costs = list(
            await session.scalars(
                select(SpendEntry.amount_nanos).where(
                    (SpendEntry.workspace_id == tenant.workspace_id) & (SpendEntry.kind == "charge")
                )
            )
        )
    allowed = {SPEND_CAP_EXCEEDED, GENERATION_FAILED}
    odd = [
        (j.id, j.status, j.error_code)
        for j in admitted
        if not (j.status == "DONE" or (j.status == "FAILED" and j.error_code in allowed))
    ]
    capped = sum(1 for j in admitted if j.error_code == SPEND_CAP_EXCEEDED)
    estimate = ctx.stack.settings.spend_estimate_nanos
    result.figures.update(
        {
            "answers": answers,
            "attempts": found.attempts,
            "jobs by attempts": dict(sorted(Counter(j.attempt_count for j in admitted).items())),
            "FAILED spend_cap_exceeded after 202": capped,
            "dearest call ¢": round(max(costs, default=0) / NANOS_PER_CENT, 2),
            "spent ¢": round(sum(costs) / NANOS_PER_CENT, 2),
        }
    )
    result.expect(not odd, f"admitted jobs ended otherwise: {odd[:3]}")
    result.expect(max(costs, default=0) > estimate, "no call cost more than the estimate")
    result.expect(capped > 0 or 402 in answers, "the cap was never reached")
