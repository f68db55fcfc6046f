"""Idempotency-Key rules, in one place: the key's shape, its scope, its window, the
request fingerprint and the generations of a key.

* **Key**: 1–64 of ``[A-Za-z0-9_-]``; a malformed key is refused (400), never ignored.
* **Scope**: one (workspace, mode, route, key), stored as a SHA-256 hex digest (the raw key
  is never stored). Two tenants or two routes never share a scope.
* **Window**: a scope is remembered for 24 hours from the request that created it. Inside
  it, the same request replays the first answer; a different body is 409
  ``idempotency_key_conflict``.
* **Fingerprint**: SHA-256 of the body's canonical JSON (sorted keys, no insignificant
  whitespace, response hints left out) and, for jobs, the API version.
* **Generations**: a key reused after its window, or after a refused admission (402), names
  a new request: generation ``n + 1`` of the scope, with its own derived job id, so every
  API replica computes the same Temporal workflow id and Temporal deduplicates too.

Used by ``services/jobs.py`` and ``services/webhooks.py`` (scope, window, fingerprint),
``db/repo/webhooks.py`` (window) and ``api/deps.py`` (key shape, canonical JSON).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any, Final

from domain.job_lifecycle import JobStatus
from ids import derived_job_id

WINDOW: Final = timedelta(hours=24)
KEY_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KEY_RULE: Final = "must be 1–64 characters of A-Z, a-z, 0-9, '_' and '-'"


def is_valid_key(key: str) -> bool:
    return bool(KEY_PATTERN.match(key))


def scope(*, workspace_id: str, mode: str, route: str, key: str) -> str:
    """Hex digest naming one (workspace, mode, route, key); the raw key is never stored."""
    material = "\x1f".join((workspace_id, mode, route, key)).encode()
    return hashlib.sha256(material).hexdigest()


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace: what a fingerprint covers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(canonical_body: str, api_version: str | None = None) -> str:
    """The request's fingerprint. Jobs include the API version (a body means something
    else under another version); webhook endpoints, stored before that rule, do not."""
    material = canonical_body if api_version is None else f"{canonical_body}\n{api_version}"
    return hashlib.sha256(material.encode()).hexdigest()


def is_replay(stored: str | None, fingerprints: tuple[str, str | None]) -> bool:
    """Whether a request with these fingerprints (current, and the legacy form a job stored
    before the response hints left the fingerprint) is the one that created the job;
    otherwise the key is reused with another request: 409 ``idempotency_key_conflict``."""
    return stored in fingerprints


def within_window(created_at: datetime, now: datetime) -> bool:
    return now - created_at < WINDOW


def job_remembered(*, status: str, created_at: datetime, now: datetime) -> bool:
    """Whether a job still answers for its key: not refused (the caller got 402 and may
    try again) and inside the window."""
    return status != JobStatus.REFUSED and within_window(created_at, now)


def job_id(*, scope: str, generation: int) -> str:
    """The job (and workflow) id of the ``generation``-th use of a scope."""
    return derived_job_id(scope=scope, generation=generation)
