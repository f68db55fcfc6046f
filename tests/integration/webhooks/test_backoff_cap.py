"""SCRIPE_WEBHOOK_MAX_BACKOFF_SECONDS caps the delivery backoff; unset, it stays 6 h."""

from __future__ import annotations

from datetime import timedelta

from config import Settings
from contracts import DeliveryStart, JobMode
from domain.webhooks import MAX_RETRY_INTERVAL, max_retry_interval, retry_delay


def test_the_default_cap_is_six_hours() -> None:
    assert Settings().webhook_max_backoff_seconds == MAX_RETRY_INTERVAL.total_seconds()
    assert max_retry_interval(None) == MAX_RETRY_INTERVAL


def test_a_configured_cap_bounds_every_wait() -> None:
    cap = max_retry_interval(20.0)
    assert cap == timedelta(seconds=20)
    waits = [retry_delay(attempt, 0.999, cap) for attempt in range(1, 30)]
    assert max(waits) < timedelta(seconds=20)
    assert waits[0] < timedelta(seconds=5)  # the first wait still starts at 5 s


def test_a_cap_above_six_hours_is_six_hours() -> None:
    assert max_retry_interval(10**9) == MAX_RETRY_INTERVAL


def test_inputs_from_before_the_setting_keep_the_default() -> None:
    old = DeliveryStart.model_validate(
        {
            "delivery_id": "whd_x",
            "event_id": "evt_x",
            "event_type": "job.completed",
            "endpoint_id": "whe_x",
            "workspace_id": "ws_x",
            "mode": JobMode.LIVE,
        }
    )
    assert old.max_backoff_seconds is None
    assert max_retry_interval(old.max_backoff_seconds) == MAX_RETRY_INTERVAL
