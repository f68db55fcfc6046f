"""Not collected: `pytest tests/webhooks/measure_latency.py -s` prints POST-to-DONE with 0
and 2 endpoints, and the delivery lag (job completedAt → receiver got it)."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

import pytest

from devtools.tenants import Tenant
from tests.conftest import FakeLlm, Stack
from tests.utils.jobs import done_job
from tests.utils.waiting import eventually
from tests.webhooks.conftest import Receiver, create_endpoint

pytestmark = pytest.mark.usefixtures("webhook_worker")
N = 20


async def _post_to_done(stack: Stack, tenant: Tenant) -> list[float]:
    out = []
    for _ in range(N):
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
    arrivals: dict[str, datetime] = {}
    original = receiver.fake._hook

    async def stamped(request):  # type: ignore[no-untyped-def]
        response = await original(request)
        arrivals.setdefault(
            request.headers["webhook-id"] + request.path_params["name"], datetime.now(UTC)
        )
        return response

    receiver.fake._hook = stamped  # type: ignore[method-assign]
    without = await _post_to_done(stack, bare)
    with_two = await _post_to_done(stack, hooked)
    await eventually(lambda: _all(receiver, N * 4), timeout=60)
    lags = []
    for r in receiver.fake.received:
        created = datetime.fromisoformat(r.event["createdAt"].replace("Z", "+00:00"))
        lags.append((arrivals[r.webhook_id + r.name] - created).total_seconds() * 1000)
    print(
        f"\nPOST-to-DONE ms, 0 endpoints: p50 {statistics.median(without):.0f} p99 {_pct(without, 0.99):.0f}"
        f"\nPOST-to-DONE ms, 2 endpoints: p50 {statistics.median(with_two):.0f} p99 {_pct(with_two, 0.99):.0f}"
        f"\ndelivery lag ms (n={len(lags)}): p50 {statistics.median(lags):.0f} p99 {_pct(lags, 0.99):.0f}"
    )


async def _all(receiver: Receiver, n: int) -> bool:
    return len(receiver.fake.received) >= n
