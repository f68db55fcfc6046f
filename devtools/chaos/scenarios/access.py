"""Key comparison timing: lookups of keys that share long prefixes with a real key take as
long as lookups of random keys (the key is HMAC'd before any comparison or index lookup)."""

from __future__ import annotations

import random
import statistics
import string
import time

from db.engine import Database
from devtools.chaos.context import Context
from devtools.chaos.report import Result
from services.auth import ApiKeyAuthenticator
from services.clock import SystemClock
from services.errors import InvalidToken
from services.rate_limit import FailureWindow

ALPHABET = string.ascii_lowercase + "234567"


def _variant(real: str, keep: int, rng: random.Random) -> str:
    """A well-formed key equal to ``real`` in its first ``keep`` body characters."""
    prefix, body = real[:15], real[15:]
    rest = "".join(rng.choice(ALPHABET) for _ in range(len(body) - keep))
    if keep < len(body) and rest[0] == body[keep]:  # make sure it differs right after
        rest = ALPHABET[(ALPHABET.index(rest[0]) + 1) % len(ALPHABET)] + rest[1:]
    return prefix + body[:keep] + rest


async def _time_groups(
    authenticate: ApiKeyAuthenticator, groups: dict[str, list[str]]
) -> dict[str, list[float]]:
    """Interleaved, so drift in the machine's load hits every group alike."""
    timings: dict[str, list[float]] = {name: [] for name in groups}
    order = [(name, i) for name, keys in groups.items() for i in range(len(keys))]
    random.Random(3).shuffle(order)
    for name, i in order:
        started = time.perf_counter_ns()
        try:
            await authenticate.authenticate(f"Bearer {groups[name][i]}")
        except InvalidToken:
            pass
        timings[name].append((time.perf_counter_ns() - started) / 1000)
    return timings


async def key_timing(ctx: Context) -> Result:
    samples = 600 if ctx.short else 4000
    result = Result(
        "API-key comparison timing",
        "authentication of well-formed unknown keys that share 31, 24 or 16 of 32 body "
        "characters with a real key, against random keys (in process, real database, no "
        "cache, interleaved)",
        f"{samples} lookups per group",
        "median time of each prefix group within the noise between two random groups "
        "(max(3 × random-vs-random gap, 5 % of the median))",
    )
    tenant = await ctx.tenant("chaos-timing")
    rng = random.Random(11)
    real = tenant.live_key
    groups = {
        "shares 31": [_variant(real, 31, rng) for _ in range(samples)],
        "shares 24": [_variant(real, 24, rng) for _ in range(samples)],
        "shares 16": [_variant(real, 16, rng) for _ in range(samples)],
        "random A": [_variant(real, 0, rng) for _ in range(samples)],
        "random B": [_variant(real, 0, rng) for _ in range(samples)],
    }
    db = Database(ctx.stack.settings.database_url)
    authenticator = ApiKeyAuthenticator(
        db=db,
        secret=ctx.stack.settings.signing_key(),
        cache_seconds=0,
        clock=SystemClock(),
        # Every lookup is timed: no per-address limit and no memory of unknown keys here.
        failures=FailureWindow(limit=10**9),
        negative_cache_seconds=0,
    )
    started = time.monotonic()
    try:
        await _time_groups(authenticator, {k: v[:50] for k, v in groups.items()})  # warm up
        timings = await _time_groups(authenticator, groups)
    finally:
        await db.dispose()
    medians = {name: statistics.median(values) for name, values in timings.items()}
    noise = abs(medians["random A"] - medians["random B"])
    allowed = max(3 * noise, 0.05 * medians["random A"])
    result.figures["median µs"] = {k: round(v, 1) for k, v in medians.items()}
    result.figures["allowed gap µs"] = round(allowed, 1)
    for name in ("shares 31", "shares 24", "shares 16"):
        gap = abs(medians[name] - medians["random A"])
        result.expect(gap <= allowed, f"{name}: {gap:.1f} µs from random (allowed {allowed:.1f})")
    result.seconds = time.monotonic() - started
    return result
