"""Identifier formats: one definition for every public id (``job_…``, ``post_…``, …).

Ids are a prefix and 26 lowercase base32 characters (128 bits). Job ids for requests that
carry an ``Idempotency-Key`` are derived from a hash of the key's scope (the scope and the
other idempotency rules: ``domain/idempotency.py``), so every replica computes the same
Temporal workflow id for duplicates and Temporal itself deduplicates.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Final, Literal

Prefix = Literal["job", "post", "proj", "ws", "key", "req", "kbdoc"]

_BODY_LEN: Final = 26
_BODY = re.compile(r"^[a-z2-7]{26}$")
API_KEY_PREFIXES: Final = {"live": "scripe_sk_live_", "test": "scripe_sk_test_"}
_API_KEY = re.compile(r"^scripe_sk_(live|test)_[a-z2-7]{32}$")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().lower().rstrip("=")


def new_id(prefix: Prefix) -> str:
    return f"{prefix}_{_b32(secrets.token_bytes(16))[:_BODY_LEN]}"


def is_id(prefix: Prefix, value: str) -> bool:
    head, sep, body = value.partition("_")
    return head == prefix and sep == "_" and bool(_BODY.match(body))


def derived_job_id(*, scope: str, generation: int) -> str:
    """The job (and workflow) id for the ``generation``-th use of an idempotency scope."""
    digest = hashlib.sha256(f"{scope}:{generation}".encode()).digest()
    return f"job_{_b32(digest)[:_BODY_LEN]}"


def new_api_key(mode: Literal["live", "test"]) -> str:
    return API_KEY_PREFIXES[mode] + _b32(secrets.token_bytes(20))[:32]


def api_key_mode(token: str) -> Literal["live", "test"] | None:
    """The mode a well-formed key claims, or None if the token is not shaped like a key."""
    match = _API_KEY.match(token)
    if match is None:
        return None
    return "live" if match.group(1) == "live" else "test"
