"""Webhook rules: event names, ids, secrets, the Standard Webhooks signature, the retry
schedule and what an answer means. Pure: the API, the activities and the workflow share it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from standardwebhooks import Webhook

JOB_COMPLETED: Final = "job.completed"
JOB_FAILED: Final = "job.failed"
POST_CREATED: Final = "post.created"
EVENT_TYPES: Final = (JOB_COMPLETED, JOB_FAILED, POST_CREATED)


def job_event_types(*, done: bool) -> tuple[str, ...]:
    """The events a finished job emits: a DONE job its completion and its post, a FAILED
    one its failure."""
    return (JOB_COMPLETED, POST_CREATED) if done else (JOB_FAILED,)


MAX_ENDPOINTS_PER_WORKSPACE: Final = 20  # per workspace and mode
SECRET_PREFIX: Final = "whsec_"
# After a rotation the previous secret keeps signing (a second signature) this long.
ROTATION_OVERLAP: Final = timedelta(hours=24)

# Deliveries: each attempt is bounded; retries back off exponentially with jitter; after
# GIVE_UP_AFTER without a 2xx the delivery fails (and the endpoint is disabled if nothing
# else it was sent got through either).
FIRST_RETRY: Final = timedelta(seconds=5)
MAX_RETRY_INTERVAL: Final = timedelta(hours=6)
GIVE_UP_AFTER: Final = timedelta(days=3)

_BODY_LEN: Final = 26


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().lower().rstrip("=")


def _derived(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return f"{prefix}_{_b32(digest)[:_BODY_LEN]}"


def new_endpoint_id() -> str:
    return f"whe_{_b32(secrets.token_bytes(16))[:_BODY_LEN]}"


def event_id(*, job_id: str, event_type: str) -> str:
    """One id per (job, event type), whatever retries, resets or replays happen."""
    return _derived("evt", job_id, event_type)


def delivery_id(*, event_id: str, endpoint_id: str) -> str:
    """One delivery per (event, endpoint); its Temporal workflow id derives from it."""
    return _derived("whd", event_id, endpoint_id)


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64, the form Standard Webhooks libraries read."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secrets(
    *, current: str, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one during
    the overlap after a rotation."""
    keys = [current]
    if previous is not None and previous_until is not None and now < previous_until:
        keys.append(previous)
    return keys


def signature_header(
    *, secrets_: Iterable[str], msg_id: str, timestamp: datetime, body: str
) -> str:
    """``v1,<base64 HMAC-SHA256 of id.timestamp.body>`` per secret, space-separated."""
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets_)


def signed_headers(
    *, secrets_: Iterable[str], msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(
            secrets_=secrets_, msg_id=msg_id, timestamp=timestamp, body=body
        ),
        "content-type": "application/json",
    }


def event_body(envelope: dict[str, Any]) -> str:
    """The exact bytes that are signed and sent (stored once, so every attempt matches)."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def max_retry_interval(max_backoff_seconds: float | None) -> timedelta:
    """The cap of the backoff: the configured one, or the default 6 h."""
    if max_backoff_seconds is None:
        return MAX_RETRY_INTERVAL
    return min(timedelta(seconds=max_backoff_seconds), MAX_RETRY_INTERVAL)


def retry_delay(
    attempt: int, jitter: float, max_interval: timedelta = MAX_RETRY_INTERVAL
) -> timedelta:
    """Wait after the ``attempt``-th failed attempt: 5 s doubling to at most
    ``max_interval`` (6 h unless configured lower), then "equal jitter" (half fixed, half
    random with ``jitter`` in [0, 1)) so endpoints that failed together do not all come
    back at the same second."""
    # The exponent is bounded before multiplying: past about 44 doublings 5 s no longer
    # fits a timedelta (OverflowError), and every later workflow task of the delivery
    # failed (found by the full, 10-minute outage of the webhook chaos scenario). 2**32 × 5 s
    # is far above any cap (at most 6 h), so the bound never changes a wait.
    doublings = min(max(0, attempt - 1), 32)
    base: timedelta = min(FIRST_RETRY * (2**doublings), max_interval)
    half: timedelta = base / 2
    return half + half * jitter


AnswerKind = Literal["delivered", "gone", "retry"]


def classify_status(status_code: int) -> AnswerKind:
    """2xx: delivered; 410 Gone: the receiver asks us to stop (the endpoint is disabled);
    anything else, 3xx included (redirects are never followed), is a failed attempt."""
    if 200 <= status_code < 300:
        return "delivered"
    if status_code == 410:
        return "gone"
    return "retry"


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
