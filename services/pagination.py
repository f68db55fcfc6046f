"""Opaque, tamper-evident cursors for newest-first keyset pagination.

A cursor names the last item of a page (created_at, id) and the list it belongs to
(workspace, mode, route, filters), signed with the server secret. Editing it, or using it
on another list, workspace or mode, is ``bad_cursor``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.errors import BadCursor

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"scripe-cursor-v1", hashlib.sha256).digest()

    def encode(self, *, scope: str, created_at: datetime, item_id: str) -> str:
        payload = json.dumps(
            {"s": _scope_digest(scope), "t": created_at.isoformat(), "i": item_id},
            separators=(",", ":"),
        ).encode()
        signature = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(payload + signature).decode().rstrip("=")

    def decode(self, token: str, *, scope: str) -> tuple[datetime, str]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload, signature = raw[:-16], raw[-16:]
            expected = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
            if len(raw) <= 16 or not hmac.compare_digest(signature, expected):
                raise ValueError("signature")
            data = json.loads(payload)
            if data["s"] != _scope_digest(scope):
                raise ValueError("foreign cursor")
            created_at = datetime.fromisoformat(data["t"])
            item_id = str(data["i"])
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as err:
            raise BadCursor() from err
        return created_at, item_id


def _scope_digest(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:24]


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    has_more: bool


def page_of(
    rows: Sequence[T],
    *,
    limit: int,
    codec: CursorCodec,
    scope: str,
    position: Callable[[T], tuple[datetime, str]] = lambda row: (
        row.created_at,  # type: ignore[attr-defined]
        row.id,  # type: ignore[attr-defined]
    ),
) -> Page[T]:
    """A page from ``limit + 1`` fetched rows: the extra row only says there is more.

    ``position`` gives a row's (created_at, id), the key the list is ordered by.
    """
    items = list(rows[:limit])
    has_more = len(rows) > limit
    next_cursor = None
    if has_more and items:
        created_at, item_id = position(items[-1])
        next_cursor = codec.encode(scope=scope, created_at=created_at, item_id=item_id)
    return Page(items=items, next_cursor=next_cursor, has_more=has_more)


Fetch = Callable[[tuple[datetime, str] | None, int], Awaitable[Sequence[T]]]


async def paginate(
    fetch: Fetch[T], *, codec: CursorCodec, scope: str, cursor: str | None, limit: int
) -> Page[T]:
    """One newest-first page: decode the cursor for this list (``scope`` names the
    workspace, mode, route and filters), fetch one row more than asked, encode the next."""
    after = codec.decode(cursor, scope=scope) if cursor else None
    return page_of(await fetch(after, limit + 1), limit=limit, codec=codec, scope=scope)
