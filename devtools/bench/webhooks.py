"""(e) Webhooks: POST-to-DONE with two endpoints against without, and the delivery lag.

A second workspace gets two endpoints on a local receiver (``devtools.webhook_receiver``,
served in the bench's own event loop, answering 204). Serial POSTs with
``wait_for_completion_ms`` alternate between the workspace without endpoints and the one
with, so that both series see the same machine (including the delivery work the previous
job left running). The lag is the job's ``completedAt`` (the event's ``createdAt``) to the
moment the receiver has the request, one sample per (event, endpoint).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime

from config import Settings
from db.engine import Database
from devtools.bench.api_load import ApiDriver
from devtools.bench.http import HttpClient
from devtools.bench.seed import BENCH_RATE_LIMIT_PER_MINUTE
from devtools.bench.stats import Samples
from devtools.serving import free_port
from devtools.tenants import Tenant, make_tenant
from devtools.webhook_receiver import WebhookReceiver, serving

ENDPOINTS = ("bench-a", "bench-b")
EVENTS = ["job.completed", "job.failed", "post.created"]
EVENTS_PER_JOB = 2  # a DONE job: job.completed and post.created
WAIT_MS = 5000
DELIVERED_TIMEOUT = 120.0

WITHOUT = "POST-to-DONE c=1, 0 endpoints (alternated)"
WITH_TWO = "POST-to-DONE c=1, 2 endpoints (alternated)"
LAG = "delivery lag (job DONE → receiver has it)"


@dataclass
class WebhookFigures:
    series: dict[str, Samples] = field(default_factory=dict)
    jobs_per_series: int = 0
    deliveries: int = 0
    delivery_errors: int = 0  # expected deliveries that did not arrive in time


async def _hooked_tenant(settings: Settings) -> Tenant:
    db = Database(settings.database_url)
    try:
        return await make_tenant(
            db,
            settings.signing_key(),
            name="Bench webhooks",
            plan="ENTERPRISE",
            rate_limit=BENCH_RATE_LIMIT_PER_MINUTE,
            demo_voice=True,
        )
    finally:
        await db.dispose()


async def _register(http: HttpClient, receiver: WebhookReceiver, port: int) -> None:
    for name in ENDPOINTS:
        url = f"http://127.0.0.1:{port}/hooks/{name}"
        response = await http.request(
            "POST", "/v1/webhook-endpoints", {"url": url, "events": EVENTS}
        )
        if response.status != 201:
            raise RuntimeError(f"endpoint not created: {response.status} {response.body[:300]!r}")
        receiver.secrets[name] = [response.json()["data"]["secret"]]


async def measure(
    settings: Settings, bare: ApiDriver, host: str, port: int, jobs: int
) -> WebhookFigures:
    """``jobs`` POST-to-DONE samples per series, alternated; then the lag of every delivery."""
    tenant = await _hooked_tenant(settings)
    http = HttpClient(host, port, headers=tenant.headers("live"))
    hooked = ApiDriver(http, tenant.project_id)
    receiver = WebhookReceiver()
    receiver_port = free_port()
    figures = WebhookFigures(jobs_per_series=jobs)
    without, with_two = Samples(), Samples()
    try:
        async with serving(receiver, receiver_port):
            await _register(http, receiver, receiver_port)
            for driver in (bare, hooked):  # warm both paths once
                await driver.post_and_wait(total=2, concurrency=1, wait_ms=WAIT_MS)
            warm = len(receiver.received)
            began = time.perf_counter()
            for _ in range(jobs):
                for driver, samples in ((bare, without), (hooked, with_two)):
                    one = await driver.post_and_wait(total=1, concurrency=1, wait_ms=WAIT_MS)
                    samples.latencies_ms += one.done.latencies_ms
                    samples.errors += one.done.errors
            wall = time.perf_counter() - began
            without.wall_seconds = with_two.wall_seconds = wall
            expected = warm + jobs * EVENTS_PER_JOB * len(ENDPOINTS)
            deadline = time.monotonic() + DELIVERED_TIMEOUT
            while len(receiver.received) < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            figures.delivery_errors = max(0, expected - len(receiver.received))
            figures.deliveries = len(receiver.received) - warm
            figures.series[LAG] = _lags(receiver, skip=warm)
    finally:
        await http.close()
    figures.series[WITHOUT] = without
    figures.series[WITH_TWO] = with_two
    return figures


def _lags(receiver: WebhookReceiver, *, skip: int) -> Samples:
    """First receipt of each (endpoint, webhook-id), from the event's createdAt."""
    lags = Samples()
    seen: set[tuple[str, str]] = set()
    for r in receiver.received[skip:]:
        if (r.name, r.webhook_id) in seen:
            continue
        seen.add((r.name, r.webhook_id))
        created = datetime.fromisoformat(r.event["createdAt"].replace("Z", "+00:00"))
        lags.latencies_ms.append((r.received_at - created).total_seconds() * 1000)
    return lags
