"""OpenAPI fragments shared by the routes: documented error responses and headers."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorEnvelope
from services.errors import (
    ApiError,
    InvalidToken,
    KeyExpired,
    KeyRevoked,
    RateLimited,
    ServiceUnavailable,
    VersionUnsupported,
)

# Every authenticated route can answer these.
GUARD_ERRORS: tuple[type[ApiError], ...] = (
    InvalidToken,
    KeyRevoked,
    KeyExpired,
    VersionUnsupported,
    RateLimited,
    ServiceUnavailable,
)

_HEADERS = {
    "X-Request-Id": {"description": "req_… id of this request", "schema": {"type": "string"}},
    "Scripe-Api-Version": {"description": "The API version used", "schema": {"type": "string"}},
    "X-RateLimit-Limit": {
        "description": "Requests allowed per 60 s",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {"description": "Left in the window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {
        "description": "Seconds until the oldest counted request leaves the window",
        "schema": {"type": "integer"},
    },
}


def errors(*extra: type[ApiError], guarded: bool = True) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with the codes it can carry."""
    by_status: dict[int, list[str]] = {}
    for error in (*(GUARD_ERRORS if guarded else ()), *extra):
        by_status.setdefault(error.status_code, []).append(error.code)
    out: dict[int | str, dict[str, Any]] = {}
    for status, codes in sorted(by_status.items()):
        out[status] = {
            "model": ErrorEnvelope,
            "description": "Error codes: " + ", ".join(f"`{c}`" for c in dict.fromkeys(codes)),
            "headers": {k: v for k, v in _HEADERS.items() if k in ("X-Request-Id",)},
        }
    return out


def success_headers() -> dict[str, Any]:
    return dict(_HEADERS)
