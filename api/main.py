"""The FastAPI application: ``create_app(settings)`` builds it; uvicorn serves it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from temporalio.client import Client

from api.errors import DOCS_PATH, install_error_handlers
from api.metrics import ApiMetrics
from api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from api.routes import generations, health, jobs, posts, projects, workspaces
from api.state import AppServices
from api.telemetry import RequestTelemetryMiddleware
from config import Settings, get_settings
from connections import connect_temporal
from db.engine import Database
from db.migrate import upgrade
from services.admission import TemporalJobs
from services.auth import ApiKeyAuthenticator
from services.clock import Clock, SystemClock
from services.errors import ALL_ERRORS
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
    migrate: bool = True,
) -> FastAPI:
    """Build the app. Tests pass their own clock and Temporal client; production passes
    nothing and gets the system clock and a client from settings."""
    settings = settings or get_settings()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await upgrade(settings.database_url)
        db = Database(settings.database_url)
        client = temporal_client or await connect_temporal(settings, lazy=True)
        rate_limiter: RateLimiter = (
            RedisRateLimiter(settings.redis_url) if settings.redis_url else InMemoryRateLimiter()
        )
        app_clock = clock or SystemClock()
        secret = settings.signing_key()
        temporal = TemporalJobs(
            client=client,
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
            ),
            estimator=CompletionEstimator(db),
            cursors=cursors,
            metrics=metrics,
        )
        try:
            yield
        finally:
            await rate_limiter.close()
            await db.dispose()

    app = FastAPI(
        title="Scripe post-generation API",
        version="2026-08-01",
        description=(
            "Generate LinkedIn posts in a project's voice. Submit a generation, get a job "
            "back at once, then poll it or wait a bounded time for the post."
        ),
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    # Outermost last: request id, then measuring (413s included), then the body cap.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RequestTelemetryMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    v1 = APIRouter(prefix="/v1")
    for module in (generations, posts, jobs, projects, workspaces, health):
        v1.include_router(module.router)
    app.include_router(v1)
    app.add_api_route(DOCS_PATH, _error_docs, include_in_schema=False)
    app.add_api_route("/metrics", metrics.endpoint, include_in_schema=False)
    return app


async def _error_docs() -> HTMLResponse:
    rows = "".join(
        f'<tr id="{e.code}"><td><code>{e.code}</code></td><td>{e.status_code}</td>'
        f"<td>{e.default_message}</td></tr>"
        for e in ALL_ERRORS
    )
    return HTMLResponse(
        "<!doctype html><title>Scripe API errors</title><h1>Error codes</h1>"
        '<p>Every error is <code>{"error": {code, message, request_id, docs_url, details?, '
        "meta?}}</code>.</p><table><tr><th>code</th><th>status</th><th>meaning</th></tr>"
        f"{rows}</table>"
    )
