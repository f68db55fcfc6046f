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
from services.errors import InvalidToken, KeyExpired, KeyRevoked

CACHE_MAX_ENTRIES = 10_000


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
    """

    def __init__(self, *, db: Database, secret: bytes, cache_seconds: float, clock: Clock) -> None:
        self._db = db
        self._secret = secret
        self._ttl = cache_seconds
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, _KeyRecord]] = OrderedDict()

    async def authenticate(self, authorization: str | None) -> Principal:
        token = _bearer_token(authorization)
        if token is None or api_key_mode(token) is None:
            raise InvalidToken()
        digest = hash_api_key(self._secret, token)
        record = await self._lookup(digest)
        # The row was found by its digest; compare again in constant time all the same.
        if record is None or not hmac.compare_digest(record.digest, digest):
            raise InvalidToken()
        if record.revoked_at is not None:
            raise KeyRevoked()
        if record.expires_at is not None and record.expires_at <= self._clock.now():
            raise KeyExpired()
        return record.principal

    async def _lookup(self, digest: str) -> _KeyRecord | None:
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        found = await api_keys_repo.find_api_key(db=self._db, key_hash=digest)
        if found is None:
            self._cache.pop(digest, None)
            return None
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


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None
