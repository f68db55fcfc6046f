"""Latency samples and their summaries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no samples (shown as "–" in the report)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(pct / 100 * len(ordered)))]


@dataclass
class Samples:
    """Latencies in ms of one measurement, plus the wall time it took."""

    latencies_ms: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    errors: int = 0

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def rate(self) -> float:
        """Completed operations per second of wall time."""
        return self.count / self.wall_seconds if self.wall_seconds else float("nan")


async def closed_loop(
    operation: Callable[[], Awaitable[None]], *, total: int, concurrency: int
) -> Samples:
    """``total`` operations, ``concurrency`` at a time, each starting when one ends."""
    samples = Samples()
    remaining = total

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            try:
                await operation()
            except Exception:  # noqa: BLE001 - counted; a bench run reports, it does not stop
                samples.errors += 1
                continue
            samples.latencies_ms.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    samples.wall_seconds = time.perf_counter() - began
    return samples


async def open_loop(
    operation: Callable[[], Awaitable[None]], *, rate: float, seconds: float
) -> Samples:
    """Start operations at a fixed rate for ``seconds`` whatever the latency (an arrival
    rate, as customers produce it), then wait for all of them to finish."""
    samples = Samples()

    async def timed() -> None:
        started = time.perf_counter()
        try:
            await operation()
        except Exception:  # noqa: BLE001 - counted
            samples.errors += 1
            return
        samples.latencies_ms.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    launched = 0
    while (now := time.perf_counter() - began) < seconds:
        due = int(now * rate) + 1
        while launched < due:
            tasks.append(asyncio.create_task(timed()))
            launched += 1
        await asyncio.sleep(max(0.0, launched / rate - (time.perf_counter() - began)))
    await asyncio.gather(*tasks)
    samples.wall_seconds = time.perf_counter() - began
    return samples
