"""``estimatedCompletionMs``: how long jobs have recently taken, minus what has elapsed."""

from __future__ import annotations

import time
from datetime import datetime

from db.engine import Database
from db.repo import jobs as jobs_repo

REFRESH_SECONDS = 10.0
MIN_SAMPLES = 3


class CompletionEstimator:
    """The 90th percentile of the last 50 jobs' durations, refreshed every 10 s.

    Honest means: no estimate (null) without enough recent jobs, or once a job has already
    run longer than nine in ten recent ones.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._p90_ms: float | None = None
        self._refreshed = float("-inf")

    async def remaining_ms(self, *, created_at: datetime, now: datetime) -> int | None:
        if time.monotonic() - self._refreshed > REFRESH_SECONDS:
            await self._refresh()
        if self._p90_ms is None:
            return None
        remaining = self._p90_ms - (now - created_at).total_seconds() * 1000
        return int(remaining) if remaining > 0 else None

    async def _refresh(self) -> None:
        self._refreshed = time.monotonic()
        durations = sorted(await jobs_repo.recent_durations_ms(db=self._db))
        if len(durations) < MIN_SAMPLES:
            self._p90_ms = None
            return
        self._p90_ms = durations[min(len(durations) - 1, int(0.9 * len(durations)))]
