"""What the app builds once at start and every request uses (typed, no module globals)."""

from __future__ import annotations

from dataclasses import dataclass

from api.metrics import ApiMetrics
from config import Settings
from db.engine import Database
from services.admission import TemporalJobs
from services.auth import ApiKeyAuthenticator
from services.clock import Clock
from services.estimates import CompletionEstimator
from services.jobs import JobService
from services.pagination import CursorCodec
from services.rate_limit import RateLimiter


@dataclass
class AppServices:
    settings: Settings
    clock: Clock
    db: Database
    temporal: TemporalJobs
    authenticator: ApiKeyAuthenticator
    rate_limiter: RateLimiter
    jobs: JobService
    estimator: CompletionEstimator
    cursors: CursorCodec
    metrics: ApiMetrics
