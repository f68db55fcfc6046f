"""A database step that waits out an outage: transient errors are retried inside the step,
with backoff, for a bounded time; permanent ones end it at once as ``StorageRejected``.

The budget outlasts a 60 s failover, so an activity's bookkeeping never spends one of the
activity's own attempts (an LLM call, a fetch) on an outage it could have waited for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from db.errors import ErrorKind, StorageRejected, classify

T = TypeVar("T")

log = logging.getLogger("scripe.db")

# How long one step keeps retrying a transient error before it gives up (and the error
# goes to Temporal's retry policy): longer than a 60 s outage, shorter than an activity's
# start-to-close timeout.
STEP_BUDGET_SECONDS = 150.0
FIRST_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 5.0


async def retrying(
    step: Callable[[], Awaitable[T]],
    *,
    what: str,
    budget_seconds: float = STEP_BUDGET_SECONDS,
) -> T:
    """Run ``step()`` until it succeeds, fails permanently, or the budget is spent."""
    deadline = time.monotonic() + budget_seconds
    delay = FIRST_DELAY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        try:
            return await step()
        except Exception as err:
            kind = classify(err)
            if kind is ErrorKind.PERMANENT:
                if isinstance(err, StorageRejected):
                    raise
                raise StorageRejected(f"{what}: {type(err).__name__}: {err}"[:500]) from err
            if kind is not ErrorKind.TRANSIENT or time.monotonic() + delay > deadline:
                raise
            log.warning(
                "%s: database unavailable (%s), retrying in %.1f s (attempt %d)",
                what,
                type(err).__name__,
                delay,
                attempt,
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_DELAY_SECONDS)
