"""The delivery backoff stays defined however long an endpoint has been failing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.webhooks import MAX_RETRY_INTERVAL, retry_delay


@pytest.mark.parametrize("attempt", [45, 100, 10_000])
def test_a_delivery_failing_for_many_attempts_still_waits_the_capped_interval(
    attempt: int,
) -> None:
    # A 10-minute outage with a 15 s cap is about 50 attempts: 5 s × 2**49 overflowed.
    cap = timedelta(seconds=15)
    assert retry_delay(attempt, 0.0, cap) == cap / 2
    assert retry_delay(attempt, 0.999, cap) <= cap
    assert retry_delay(attempt, 0.0) == MAX_RETRY_INTERVAL / 2


def test_the_first_waits_double_from_five_seconds() -> None:
    assert [retry_delay(n, 0.0) * 2 for n in (1, 2, 3)] == [
        timedelta(seconds=5),
        timedelta(seconds=10),
        timedelta(seconds=20),
    ]
