"""API-key authentication: keyed hashes, a short cache, revocation within seconds."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from db.engine import Database
from db.repo import api_keys as api_keys_repo
from ids import api_key_mode
from services.clock import Clock
from services.errors import InvalidToken, KeyExpired, KeyRevoked, RateLimited
from services.rate_limit import FailureWindow

CACHE_MAX_ENTRIES = 10_000
# Unknown keys are remembered this long, so repeating one costs no database query.
NEGATIVE_CACHE_SECONDS = 30.0
# Failed authentications one client address may cause per minute before it gets 429
# without a database lookup. Keys that authenticated recently are exempt (see below).
UNAUTHENTICATED_PER_MINUTE = 60
# How long a key that authenticated stays exempt from its address's failure limit.
KNOWN_GOOD_SECONDS = 3600.0


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key of one workspace, in live or test mode."""

    key_id: str
    workspace_id: str
    workspace_name: str
    plan: str
    mode: Literal["live", "test"]
    rate_limit_per_minute: int | None


@dataclass(frozen=True)
class _KeyRecord:
    digest: str
    principal: Principal
    revoked_at: datetime | None
    expires_at: datetime | None


def hash_api_key(secret: bytes, token: str) -> str:
    """HMAC-SHA-256 under the server secret: a leaked table does not reveal usable keys."""
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()


class ApiKeyAuthenticator:
    """Resolves ``Authorization: Bearer …`` to a :class:`Principal`.

    Lookups are cached for ``cache_seconds`` (at most 5): a revoked key stops working within
    that time on every replica, with no cross-replica invalidation needed.

    Unknown keys cost the database nothing twice: a miss is cached for
    ``NEGATIVE_CACHE_SECONDS`` (a key is random, so a key minted later is never one that
    was tried before), and each client address may cause ``UNAUTHENTICATED_PER_MINUTE``
    database misses per minute; past that it gets 429 ``rate_limited`` without a
    lookup. A key that authenticated within the last hour is never held back by its
    address's failures (a customer behind the same NAT as a scanner keeps working); a
    valid key never counts as a failure.
    """

    def __init__(
        self,
        *,
        db: Database,
        secret: bytes,
        cache_seconds: float,
        clock: Clock,
        failures: FailureWindow | None = None,
        negative_cache_seconds: float = NEGATIVE_CACHE_SECONDS,
    ) -> None:
        self._db = db
        self._secret = secret
        self._ttl = cache_seconds
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, _KeyRecord]] = OrderedDict()
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._negative_ttl = negative_cache_seconds
        self._known_good: OrderedDict[str, float] = OrderedDict()
        self._failures = failures or FailureWindow(limit=UNAUTHENTICATED_PER_MINUTE)
        self.database_lookups = 0  # for tests and metrics: how often a key reached the db

    async def authenticate(self, authorization: str | None, *, client: str = "") -> Principal:
        token = _bearer_token(authorization)
        if token is None or api_key_mode(token) is None:
            raise InvalidToken()
        digest = hash_api_key(self._secret, token)
        if not self._recently_good(digest):
            retry_after = self._failures.blocked(client)
            if retry_after is not None:
                raise RateLimited(
                    "Too many failed authentications from this address; retry after the "
                    "indicated time.",
                    headers={"Retry-After": str(retry_after)},
                )
        lookups = self.database_lookups
        record = await self._lookup(digest)
        # The row was found by its digest; compare again in constant time all the same.
        if record is None or not hmac.compare_digest(record.digest, digest):
            if self.database_lookups > lookups:  # only misses that cost a query count
                self._failures.record(client)
            raise InvalidToken()
        _remember(self._known_good, digest, time.monotonic())
        if record.revoked_at is not None:
            raise KeyRevoked()
        if record.expires_at is not None and record.expires_at <= self._clock.now():
            raise KeyExpired()
        return record.principal

    def _recently_good(self, digest: str) -> bool:
        seen = self._known_good.get(digest)
        return seen is not None and time.monotonic() - seen < KNOWN_GOOD_SECONDS

    async def _lookup(self, digest: str) -> _KeyRecord | None:
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        missed = self._unknown.get(digest)
        if missed is not None and now - missed < self._negative_ttl:
            return None
        self.database_lookups += 1
        found = await api_keys_repo.find_api_key(db=self._db, key_hash=digest)
        if found is None:
            self._cache.pop(digest, None)
            _remember(self._unknown, digest, now)
            return None
        self._unknown.pop(digest, None)
        key, workspace = found
        mode: Literal["live", "test"] = "live" if key.mode == "live" else "test"
        record = _KeyRecord(
            digest=key.key_hash,
            principal=Principal(
                key_id=key.id,
                workspace_id=workspace.id,
                workspace_name=workspace.name,
                plan=workspace.plan,
                mode=mode,
                rate_limit_per_minute=workspace.rate_limit_per_minute,
            ),
            revoked_at=key.revoked_at,
            expires_at=key.expires_at,
        )
        if self._ttl > 0:
            self._cache[digest] = (now, record)
            self._cache.move_to_end(digest)
            while len(self._cache) > CACHE_MAX_ENTRIES:
                self._cache.popitem(last=False)
        return record


def _remember(entries: OrderedDict[str, float], digest: str, now: float) -> None:
    """Insert or refresh, evicting the oldest past CACHE_MAX_ENTRIES (memory stays bounded
    however many random keys are tried)."""
    entries[digest] = now
    entries.move_to_end(digest)
    while len(entries) > CACHE_MAX_ENTRIES:
        entries.popitem(last=False)


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None
