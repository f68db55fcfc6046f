"""Per-workspace sliding-window rate limit (docs/api.md): exact over the last 60 seconds.

In memory for one API process (the embedded default), in Redis when several replicas must
share one window (``SCRIPE_REDIS_URL``). Refused requests are not counted, so a client that
backs off as told gets through.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the oldest counted request leaves the window

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_seconds)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int) -> RateDecision: ...

    async def close(self) -> None: ...


class InMemoryRateLimiter:
    def __init__(
        self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str, limit: int) -> RateDecision:
        now = self._clock()
        async with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self._window:
                hits.popleft()
            allowed = len(hits) < limit
            if allowed:
                hits.append(now)
            reset = math.ceil(hits[0] + self._window - now) if hits else 0
            return RateDecision(allowed, limit, max(0, limit - len(hits)), reset)

    async def close(self) -> None:
        self._hits.clear()


# Trim the window, count, and add this request only if under the limit: atomically.
_SLIDING_WINDOW_LUA = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now, member)
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', key, math.ceil(window * 1000))
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local reset = 0
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, count, tostring(reset)}
"""


class RedisRateLimiter:
    def __init__(
        self,
        url: str,
        window: float = WINDOW_SECONDS,
        prefix: str = "scripe:rl:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._window = window
        self._prefix = prefix
        self._clock = clock
        self._script = self._redis.register_script(_SLIDING_WINDOW_LUA)

    async def hit(self, key: str, limit: int) -> RateDecision:
        now = self._clock()
        member = f"{now:.6f}-{secrets.token_hex(4)}"
        allowed, count, reset = await self._script(
            keys=[self._prefix + key], args=[now, self._window, limit, member]
        )
        return RateDecision(
            bool(allowed), limit, max(0, limit - int(count)), math.ceil(float(reset))
        )

    async def close(self) -> None:
        await self._redis.aclose()


class FailureWindow:
    """Failures per client address over the last 60 s, in this process (it bounds the
    database lookups this replica makes for unknown keys; no shared state needed).

    ``blocked`` says whether the address is over its limit (and for how long); ``record``
    counts one failure. At most ``max_clients`` addresses are tracked, oldest dropped.
    """

    def __init__(
        self,
        *,
        limit: int,
        window: float = WINDOW_SECONDS,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window
        self._max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _trimmed(self, client: str, now: float) -> deque[float] | None:
        hits = self._failures.get(client)
        if hits is None:
            return None
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        return hits

    def blocked(self, client: str) -> int | None:
        """Seconds until the address may try again, or None if it may now."""
        now = self._clock()
        hits = self._trimmed(client, now)
        if hits is None or len(hits) < self._limit:
            return None
        return max(1, math.ceil(hits[0] + self._window - now))

    def record(self, client: str) -> None:
        now = self._clock()
        hits = self._trimmed(client, now)
        if hits is None:
            hits = self._failures[client] = deque()
        hits.append(now)
        self._failures.move_to_end(client)
        while len(self._failures) > self._max_clients:
            self._failures.popitem(last=False)
