"""The chaos audit's cap invariant: a bucket past its workspace's daily cap is reported."""

from __future__ import annotations

from datetime import UTC, date, datetime

from db.tables import SpendBucket
from devtools.chaos.invariants import Audit, check_caps


def _bucket(workspace_id: str, spent: int, reserved: int) -> SpendBucket:
    return SpendBucket(
        workspace_id=workspace_id,
        mode="live",
        day=date(2026, 12, 1),
        spent_nanos=spent,
        reserved_nanos=reserved,
        updated_at=datetime.now(UTC),
    )


def test_a_bucket_whose_spent_and_reserved_pass_the_cap_is_a_violation() -> None:
    found = Audit()
    buckets = [
        _bucket("ws_full", 60, 40),
        _bucket("ws_over", 60, 41),
        _bucket("ws_free", 10**12, 1),
    ]
    check_caps(found, buckets, {"ws_full": 100, "ws_over": 100, "ws_free": None})
    assert found.violations == [
        "bucket ('ws_over', 'live', datetime.date(2026, 12, 1)): spent + reserved 101 > cap 100"
    ]
