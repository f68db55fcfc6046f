"""``estimatedCompletionMs``: how long jobs have recently taken, minus what has elapsed."""

from __future__ import annotations

import statistics
import time
from datetime import datetime

from db.engine import Database
from db.repo import jobs as jobs_repo

REFRESH_SECONDS = 10.0
MIN_SAMPLES = 3


def typical_duration_ms(durations: list[float]) -> float | None:
    """The median of recent durations: one slow job (a 6 s provider call among fifty
    50 ms jobs) moves it not at all, where a 90th percentile of 50 samples is the
    fifth-slowest job and follows the outliers."""
    if len(durations) < MIN_SAMPLES:
        return None
    return float(statistics.median(durations))


class CompletionEstimator:
    """The median of the last 50 jobs' durations, refreshed every 10 s.

    Honest means: no estimate (null) without enough recent jobs, or once a job has already
    run longer than the typical one (we no longer know).
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._typical_ms: float | None = None
        self._refreshed = float("-inf")

    async def remaining_ms(self, *, created_at: datetime, now: datetime) -> int | None:
        if time.monotonic() - self._refreshed > REFRESH_SECONDS:
            await self._refresh()
        if self._typical_ms is None:
            return None
        remaining = self._typical_ms - (now - created_at).total_seconds() * 1000
        return int(remaining) if remaining > 0 else None

    async def _refresh(self) -> None:
        self._refreshed = time.monotonic()
        durations = await jobs_repo.recent_durations_ms(db=self._db)
        self._typical_ms = typical_duration_ms([float(d) for d in durations])
