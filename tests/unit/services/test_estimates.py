"""estimatedCompletionMs is the median of recent jobs: a few slow ones do not move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db.repo import jobs as jobs_repo
from services.estimates import CompletionEstimator


async def estimate(monkeypatch: pytest.MonkeyPatch, durations: list[float], elapsed_ms: int) -> Any:
    async def recent(**_kwargs: Any) -> list[float]:
        return durations

    monkeypatch.setattr(jobs_repo, "recent_durations_ms", recent)
    estimator = CompletionEstimator(db=None)  # type: ignore[arg-type]
    now = datetime(2026, 11, 29, 10, tzinfo=UTC)
    return await estimator.remaining_ms(
        created_at=now - timedelta(milliseconds=elapsed_ms), now=now
    )


async def test_outliers_do_not_inflate_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    # 45 jobs of ~50 ms and 5 slow ones (a 6 s provider call): the typical job takes 50 ms.
    durations = [50.0] * 45 + [5_800.0] * 5
    assert await estimate(monkeypatch, durations, elapsed_ms=10) == 40


async def test_no_estimate_without_history_or_once_exceeded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await estimate(monkeypatch, [50.0, 60.0], elapsed_ms=0) is None
    assert await estimate(monkeypatch, [50.0, 60.0, 70.0], elapsed_ms=100) is None
