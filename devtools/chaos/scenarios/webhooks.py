"""Webhook receivers misbehaving, and the worker killed mid-delivery.

The receiver (``devtools.webhook_receiver``) runs in this process on its own port; two
endpoints of one workspace point at it. It is first *not listening at all* (connection
refused) while jobs finish, then answers 500s, then hangs past the attempt bound
(timeouts), then answers slowly but in time; meanwhile the worker is killed (kill -9)
while requests are in flight at the receiver. The chaos stack caps the backoff
(``SCRIPE_WEBHOOK_MAX_BACKOFF_SECONDS``) so the retries come back within seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from db.tables import WebhookAttempt, WebhookDelivery, WebhookEvent
from devtools.chaos.context import Context
from devtools.chaos.report import Result
from devtools.chaos.traffic import Submission, submit_until_accepted
from devtools.tenants import Tenant
from devtools.webhook_receiver import Behaviour, WebhookReceiver, serving

ENDPOINTS = ("a", "b")
EVENTS = ["job.completed", "job.failed", "post.created"]
CHECKED = (
    "every event recorded has one delivery per endpoint, each DELIVERED; the receiver got "
    "every (event, endpoint) with a 2xx; every request verifies with standardwebhooks; "
    "duplicates only as repeats of the same webhook-id with the same body; job invariants"
)


async def _register(ctx: Context, tenant: Tenant, receiver: WebhookReceiver, port: int) -> None:
    for name in ENDPOINTS:
        response = await ctx.http.post(
            "/v1/webhook-endpoints",
            json={"url": f"http://127.0.0.1:{port}/hooks/{name}", "events": EVENTS},
            headers=tenant.headers("live"),
        )
        response.raise_for_status()
        receiver.secrets[name] = [response.json()["data"]["secret"]]


async def _jobs(ctx: Context, tenant: Tenant, prefix: str, count: int) -> list[Submission]:
    return list(
        await asyncio.gather(
            *(submit_until_accepted(ctx.http, tenant, f"{prefix}-{i}") for i in range(count))
        )
    )


async def _deliveries(ctx: Context, workspace_id: str) -> Counter[str]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.workspace_id == workspace_id)
            .group_by(WebhookDelivery.status)
        )
        return Counter({status: n for status, n in rows})


async def _until_delivered(ctx: Context, workspace_id: str, timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = await _deliveries(ctx, workspace_id)
        if (statuses and set(statuses) == {"DELIVERED"}) or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(1)


async def _until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


async def webhook_outage(ctx: Context) -> Result:
    down_seconds, jobs_down, jobs_kill, kills = (
        (40.0, 10, 6, 2) if ctx.short else (600.0, 40, 20, 5)
    )
    result = Result(
        "Webhook receiver down, failing, slow; worker killed mid-delivery",
        f"receiver not listening (connection refused) for {down_seconds:.0f} s, then 500s, "
        "then hanging past the 3 s attempt bound, then 2 s answers; kill -9 of the worker "
        "while requests are in flight at the receiver; backoff capped at 15 s",
        f"{jobs_down + jobs_kill} jobs × 2 endpoints; {kills} kills",
        CHECKED,
    )
    started = time.monotonic()
    port = ctx.stack.ports.llm + 1
    receiver = WebhookReceiver(slow_seconds=2.0, hang_seconds=6.0)
    tenant = await ctx.tenant("chaos-webhooks")
    await ctx.llm(latency_ms=200)
    await _register(ctx, tenant, receiver, port)

    # 1. Down: nothing listens; the jobs finish and their deliveries keep failing.
    submissions = await _jobs(ctx, tenant, "down", jobs_down)
    await ctx.expect_finished(result, submissions)
    await asyncio.sleep(max(0.0, down_seconds - (time.monotonic() - started)))
    refused_attempts = await _attempts(ctx, tenant.workspace_id)

    # 2. Back, but failing: 500s, then answers after the attempt bound, then slow ones.
    receiver.script.extend(_times("500", 8) + _times("hang", 4) + _times("slow", 6))
    kill_landed: list[int] = []
    async with serving(receiver, port):
        # 3. The worker killed while requests are in flight at the receiver.
        for k in range(kills):
            receiver.script.extend(_times("slow", 6))
            more = asyncio.create_task(_jobs(ctx, tenant, f"kill{k}", jobs_kill // kills))
            busy = await _until(lambda: _in_flight(receiver) > 0, timeout=60)
            kill_landed.append(_in_flight(receiver) if busy else 0)
            ctx.stack.children["worker"].kill9()
            await ctx.stack.restart_worker()
            submissions += await more
        await ctx.expect_finished(result, submissions)
        # A killed attempt is retried after the activity's 60 s bound, plus the backoff.
        statuses = await _until_delivered(ctx, tenant.workspace_id, timeout=300)
    await ctx.audit_into(result, tenant.workspace_id)
    await _audit_webhooks(ctx, result, tenant, receiver, statuses)
    result.figures["attempts refused while down"] = refused_attempts
    result.figures["requests in flight at each kill"] = kill_landed
    result.figures["receiver answers"] = dict(receiver.answered)
    result.expect(sum(kill_landed) > 0, "no kill landed while a request was in flight")
    result.seconds = time.monotonic() - started
    return result


def _times(behaviour: Behaviour, n: int) -> list[Behaviour]:
    return [behaviour] * n


def _in_flight(receiver: WebhookReceiver) -> int:
    """Requests received and still being answered slowly (``slow`` answers take 2 s)."""
    now = time.time()
    return sum(
        1
        for r in receiver.received
        if r.answered in ("slow", "hang") and now - r.received_at.timestamp() < 1.5
    )


async def _attempts(ctx: Context, workspace_id: str) -> int:
    async with ctx.db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(WebhookAttempt)
            .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
            .where(WebhookDelivery.workspace_id == workspace_id)
        )
        return int(count or 0)


async def _audit_webhooks(
    ctx: Context,
    result: Result,
    tenant: Tenant,
    receiver: WebhookReceiver,
    statuses: Counter[str],
) -> None:
    async with ctx.db.read() as session:
        events = list(
            await session.scalars(
                select(WebhookEvent).where(WebhookEvent.workspace_id == tenant.workspace_id)
            )
        )
        deliveries = list(
            await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.workspace_id == tenant.workspace_id)
            )
        )
    bodies = {e.id: e.body for e in events}
    got_2xx = {(r.name, r.webhook_id) for r in receiver.received if r.answered in ("ok", "slow")}
    requests = Counter((r.name, r.webhook_id) for r in receiver.received)
    expected = {(name, e.id) for e in events for name in ENDPOINTS}
    lost = expected - got_2xx
    strangers = {k for k in requests if k[1] not in bodies}
    wrong_body = [r for r in receiver.received if bodies.get(r.webhook_id) != r.body]
    unverified = [r for r in receiver.received if not r.verified]
    answered_2xx = Counter(
        (r.name, r.webhook_id) for r in receiver.received if r.answered in ("ok", "slow")
    )
    received_twice = sum(1 for n in answered_2xx.values() if n > 1)
    result.figures.update(
        {
            "events recorded": len(events),
            "deliveries": len(deliveries),
            "delivery statuses": dict(statuses),
            "requests received": len(receiver.received),
            "(event, endpoint) received with 2xx": len(got_2xx),
            "(event, endpoint) answered 2xx more than once": received_twice,
            "attempts recorded": sum(d.attempt_count for d in deliveries),
        }
    )
    result.expect(len(deliveries) == len(expected), "a delivery row is missing")
    result.expect(set(statuses) == {"DELIVERED"}, f"deliveries not all DELIVERED: {statuses}")
    result.expect(not lost, f"{len(lost)} (event, endpoint) never received with a 2xx")
    result.expect(not strangers, f"requests with unknown webhook-ids: {sorted(strangers)[:3]}")
    result.expect(not wrong_body, f"{len(wrong_body)} requests whose body differs from the event")
    result.expect(not unverified, f"{len(unverified)} requests that do not verify")
