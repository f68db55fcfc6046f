"""Waiting on conditions (never on fixed sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float = 15.0, interval: float = 0.05
) -> T:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds.

    ``check`` may also assert: a failed assertion counts as "not yet", and on timeout the
    last one is raised again (with its message), so the failure says what was wrong.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            result = await check()
        except AssertionError as err:
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {timeout}s: {err}") from err
        else:
            if result:
                return result
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)
