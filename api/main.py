"""The FastAPI application: ``create_app(settings)`` builds it; uvicorn serves it."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api.errors import install_error_handlers
from api.metrics import ApiMetrics
from api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from api.openapi import DOCUMENT_VERSION, install_docs, install_openapi, operation_id
from api.routes import generations, health, jobs, posts, projects, webhooks, workspaces
from api.schemas import GenerationCreate
from api.state import AppServices
from api.telemetry import RequestTelemetryMiddleware
from api.webhook_schemas import WebhookEndpointCreate, WebhookEndpointUpdate
from config import Settings, get_settings
from connections import connect_temporal
from db.engine import INTERACTIVE, Database
from db.migrate import upgrade
from services.admission import TemporalJobs
from services.auth import ApiKeyAuthenticator
from services.clock import Clock, SystemClock
from services.estimates import CompletionEstimator
from services.jobs import JobService
from services.pagination import CursorCodec
from services.rate_limit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter

log = logging.getLogger("scripe.api")


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    temporal_client: Client | None = None,
    temporal_jobs: TemporalJobs | None = None,
    migrate: bool = True,
) -> FastAPI:
    """Build the app. Tests pass their own clock and Temporal client; production passes
    nothing and gets the system clock and a client from settings. The unit tests pass
    ``temporal_jobs`` instead: a fake of the API's one port to Temporal, so auth, versions,
    validation and pagination run in process without any server."""
    settings = settings or get_settings()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await upgrade(settings.database_url)
        db = Database(settings.database_url, limits=INTERACTIVE)
        rate_limiter: RateLimiter = (
            RedisRateLimiter(settings.redis_url) if settings.redis_url else InMemoryRateLimiter()
        )
        app_clock = clock or SystemClock()
        secret = settings.signing_key()
        temporal = temporal_jobs or TemporalJobs(
            client=temporal_client or await connect_temporal(settings, lazy=True),
            task_queue=settings.temporal_task_queue,
            admission_timeout=settings.admission_timeout_ms / 1000,
        )
        cursors = CursorCodec(secret)
        app.state.settings = settings
        app.state.services = AppServices(
            settings=settings,
            clock=app_clock,
            db=db,
            temporal=temporal,
            authenticator=ApiKeyAuthenticator(
                db=db, secret=secret, cache_seconds=settings.key_cache_seconds, clock=app_clock
            ),
            rate_limiter=rate_limiter,
            jobs=JobService(
                db=db,
                temporal=temporal,
                clock=app_clock,
                cursors=cursors,
                estimate_nanos=settings.spend_estimate_nanos,
                record_admission=metrics.record_admission,
                live_writer=settings.openai_api_key is not None,
            ),
            estimator=CompletionEstimator(db),
            cursors=cursors,
            metrics=metrics,
        )
        # Everything built so far lives as long as the process: move it out of the
        # collector's reach, so the full collections that requests trigger stay short
        # (GET p99 under 50 paced pollers: 250–660 ms → 130–225 ms on a busy machine).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await rate_limiter.close()
            await db.dispose()

    app = FastAPI(
        title="Scripe post-generation API",
        version=DOCUMENT_VERSION,
        description=(
            "Generate LinkedIn posts in a project's voice. Submit a generation, get a job "
            "back at once, then poll it or wait a bounded time for the post.\n\n"
            "Every error code: [/docs/errors](/docs/errors). The full reference, with "
            "idempotency, spend and rate-limit rules, is `docs/api.md` in the repository."
        ),
        lifespan=lifespan,
        # No 307 to the path without its trailing slash: Starlette builds that Location
        # from the request's Host header (Host: evil.example → http://evil.example/…).
        # /v1/jobs/ is simply not a route (404).
        redirect_slashes=False,
        generate_unique_id_function=operation_id,
        docs_url=None,  # served by install_docs from local assets
        redoc_url=None,
        # We export Prometheus metrics and JSON logs, not OpenTelemetry. Left on, FastAPI's
        # native telemetry looks up the global OTel providers on every request only to find
        # none configured: ~14 % of the API's CPU per GET under 50 pollers (py-spy).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    # Outermost last: request id, then measuring (413s included), then the body cap.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RequestTelemetryMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    # Each module's router goes straight into the app under /v1, not into a /v1 router of
    # its own: FastAPI matches an included router level by level, and one level less is
    # 13 % fewer Python calls per GET /v1/jobs/{id} (BENCHMARKS.md). The document is the
    # same, in the same order.
    for module in (generations, posts, jobs, projects, workspaces, webhooks, health):
        app.include_router(module.router, prefix="/v1")
    install_openapi(app, bodies=(GenerationCreate, WebhookEndpointCreate, WebhookEndpointUpdate))
    install_docs(app)
    app.add_api_route("/metrics", metrics.endpoint, include_in_schema=False)
    return app
