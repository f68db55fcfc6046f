"""Heartbeat for the whole body of a regular activity, so a dead worker is noticed in
seconds and a slow step (a database wait, a provider call) never times the attempt out.

The heartbeat also carries the attempt's details (e.g. the usage of an answered provider
call): every beat sends the latest ones, and Temporal hands the last delivered details to
the next attempt (``activity.info().heartbeat_details``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from temporalio import activity

HEARTBEAT_EVERY_SECONDS = 5.0


class Heartbeat:
    def __init__(self) -> None:
        # What the previous attempt recorded, carried on until this one records its own:
        # a beat without details would erase them before this attempt has used them.
        self.details: tuple[Any, ...] = tuple(activity.info().heartbeat_details)

    def record(self, *details: Any) -> None:
        """Keep ``details`` for every later beat, and send them now."""
        self.details = details
        activity.heartbeat(*details)

    def beat(self) -> None:
        activity.heartbeat(*self.details)


def beat_interval(default: float = HEARTBEAT_EVERY_SECONDS) -> float:
    """Often enough for the attempt's heartbeat timeout (three beats per timeout)."""
    timeout = activity.info().heartbeat_timeout
    if timeout is None or timeout.total_seconds() <= 0:
        return default
    return max(0.05, min(default, timeout.total_seconds() / 3))


@contextlib.asynccontextmanager
async def heartbeating(every: float | None = None) -> AsyncIterator[Heartbeat]:
    heartbeat = Heartbeat()
    interval = every if every is not None else beat_interval()

    async def beat() -> None:
        # The first beat waits one interval (a third of the timeout at most): the SDK sends
        # the first heartbeat of an attempt at once and holds later ones for up to its
        # throttle interval, so an empty beat at the start would make the body's own first
        # ``record`` (a provider's answer, before it is booked) wait instead of going out.
        while True:
            await asyncio.sleep(interval)
            heartbeat.beat()

    task = asyncio.create_task(beat())
    try:
        yield heartbeat
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
