"""The Idempotency-Key rules live in domain/idempotency.py and mean what docs/api.md says."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

import ids
from domain import idempotency
from domain.job_lifecycle import JobStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("key", ["a", "A-z_0-9", "x" * 64])
def test_well_formed_keys(key: str) -> None:
    assert idempotency.is_valid_key(key)


@pytest.mark.parametrize("key", ["", "has space!", "x" * 65, "ключ"])
def test_malformed_keys(key: str) -> None:
    assert not idempotency.is_valid_key(key)


def test_a_scope_is_one_workspace_mode_route_and_key() -> None:
    base = {"workspace_id": "ws_a", "mode": "test", "route": "POST /v1/x", "key": "k"}
    scope = idempotency.scope(**base)
    assert len(scope) == 64 and int(scope, 16) >= 0  # a hex digest, never the raw key
    for field, other in [("workspace_id", "ws_b"), ("mode", "live"), ("route", "POST /v1/y")]:
        assert idempotency.scope(**{**base, field: other}) != scope
    # the separator keeps field boundaries: ("ab", "c") is not ("a", "bc")
    assert idempotency.scope(workspace_id="ws_a", mode="test", route="r", key="ab") != (
        idempotency.scope(workspace_id="ws_a", mode="testr", route="", key="ab")
    )


def test_fingerprints_are_the_stored_ones() -> None:
    body = idempotency.canonical_json({"b": 1, "a": "é"})
    assert body == '{"a":"é","b":1}'
    # jobs: body and version (rows stored with this formula must keep matching)
    assert (
        idempotency.fingerprint(body, "2025-01-01")
        == hashlib.sha256(f"{body}\n2025-01-01".encode()).hexdigest()
    )
    # webhook endpoints: the body alone
    assert idempotency.fingerprint(body) == hashlib.sha256(body.encode()).hexdigest()
    assert idempotency.fingerprint(body, "2025-01-01") != idempotency.fingerprint(body)


def test_the_window_is_24_hours_and_a_refusal_is_forgotten() -> None:
    assert idempotency.WINDOW == timedelta(hours=24)
    just_inside = NOW - idempotency.WINDOW + timedelta(microseconds=1)
    assert idempotency.job_remembered(status=JobStatus.DONE, created_at=just_inside, now=NOW)
    assert not idempotency.job_remembered(
        status=JobStatus.DONE, created_at=NOW - idempotency.WINDOW, now=NOW
    )
    assert not idempotency.job_remembered(status=JobStatus.REFUSED, created_at=NOW, now=NOW)


def test_each_generation_of_a_scope_has_its_own_job_id() -> None:
    scope = idempotency.scope(workspace_id="ws_a", mode="test", route="r", key="k")
    first = idempotency.job_id(scope=scope, generation=0)
    assert ids.is_id("job", first)
    assert first == idempotency.job_id(scope=scope, generation=0)  # every replica agrees
    assert first != idempotency.job_id(scope=scope, generation=1)


def test_the_scope_has_one_definition() -> None:
    assert not hasattr(ids, "idempotency_scope")


def test_a_replay_matches_the_current_or_the_legacy_fingerprint() -> None:
    assert idempotency.is_replay("a", ("a", None))
    assert idempotency.is_replay("b", ("a", "b"))
    assert not idempotency.is_replay("c", ("a", "b"))
    assert not idempotency.is_replay("c", ("a", None))
