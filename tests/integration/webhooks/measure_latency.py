"""Not collected: `pytest tests/integration/webhooks/measure_latency.py -s` prints
POST-to-DONE with 0 and 2 endpoints, and the delivery lag (job completedAt → receiver got it)."""

from __future__ import annotations

import statistics
import time
from datetime import datetime

import pytest

from devtools.tenants import Tenant
from tests.utils.jobs import done_job
from tests.utils.stack import FakeLlm, Stack
from tests.utils.waiting import eventually
from tests.utils.webhooks import Receiver, create_endpoint

pytestmark = pytest.mark.usefixtures("webhook_worker")
N = 20


async def _post_to_done(stack: Stack, tenant: Tenant, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        job = await done_job(stack, tenant)
        assert job["status"] == "DONE"
        out.append((time.perf_counter() - started) * 1000)
    return out


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


async def test_measure(stack: Stack, receiver: Receiver, llm: FakeLlm) -> None:
    bare = await stack.tenant()
    hooked = await stack.tenant()
    await create_endpoint(stack, hooked, receiver, "m1")
    await create_endpoint(stack, hooked, receiver, "m2")
    for _ in range(3):  # warm up
        await done_job(stack, bare)
    # Alternate, so both series share whatever background work (deliveries) is running.
    without, with_two = [], []
    for _ in range(N):
        without += await _post_to_done(stack, bare, 1)
        with_two += await _post_to_done(stack, hooked, 1)
    await eventually(lambda: _all(receiver, N * 4), timeout=60)
    lags = []
    for r in receiver.fake.received:
        created = datetime.fromisoformat(r.event["createdAt"].replace("Z", "+00:00"))
        lags.append((r.received_at - created).total_seconds() * 1000)
    for name, values in (("0 endpoints", without), ("2 endpoints", with_two), ("lag", lags)):
        line = f"{name}: p50 {statistics.median(values):.0f} ms, p99 {_pct(values, 0.99):.0f} ms"
        print(line)  # noqa: T201


async def _all(receiver: Receiver, n: int) -> bool:
    return len(receiver.fake.received) >= n
