"""The unit tier's API: ``create_app`` served in process (``httpx.ASGITransport``) on a
migrated SQLite file, its one port to Temporal replaced by ``FakeTemporalJobs``.

Nothing listens on a socket and no Temporal server runs, so the API's own rules (auth,
versions, the error envelope, validation, pagination, rate limits) are tested in
milliseconds. A job admitted here stays QUEUED, as when no worker answers in time (the
``pending`` admission outcome): anything that needs a job to run belongs to the
integration tier.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from api.main import create_app
from config import Settings
from contracts import PostGenerationInput
from db.engine import Database
from db.migrate import upgrade
from devtools.tenants import Tenant, make_tenant
from services.admission import AdmissionResult, TemporalJobs
from tests.utils.clock import MovableClock


class FakeTemporalJobs(TemporalJobs):
    """The methods the API calls on ``TemporalJobs``, answered without a server: admission
    is ``pending`` (no worker), waits return at once, cancellations are recorded."""

    def __init__(self) -> None:  # no client, no task queue: nothing is ever dialled
        self.admitted: list[PostGenerationInput] = []
        self.cancelled: list[str] = []
        self.is_reachable = True

    @property
    def client(self) -> Client:
        raise AssertionError("the unit tier has no Temporal client: move this test")

    async def admit(self, job: PostGenerationInput) -> AdmissionResult:
        self.admitted.append(job)
        return AdmissionResult(outcome="pending")

    async def wait_for_completion(self, job_id: str, timeout_ms: int) -> None:
        return None

    async def request_cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)

    async def reachable(self) -> bool:
        return self.is_reachable


def unit_settings(data_dir: Path, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": f"sqlite+aiosqlite:///{data_dir / 'api.db'}",
        "secret_key": "test-secret-key",
        "temporal_task_queue": "unit",
        "openai_api_key": "sk-test-fake",
        "openai_base_url": "http://127.0.0.1:9/v1",  # never called: no worker runs here
        "url_fetch_allow_private": True,
        "key_cache_seconds": 0,
        "log_format": "text",
    }
    values.update(kw)
    return Settings(**values)


@asynccontextmanager
async def in_process(
    settings: Settings, clock: MovableClock, temporal: FakeTemporalJobs | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, and a client that calls it without a socket."""
    app = create_app(
        settings, clock=clock, temporal_jobs=temporal or FakeTemporalJobs(), migrate=False
    )
    async with app.router.lifespan_context(app):
        # An unhandled error is the app's 500 envelope, as over a socket, not a raise here.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=30
        ) as http:
            yield http


@dataclass
class ApiStack:
    """What the unit API tests use: the same names as the integration ``Stack`` where the
    meaning is the same (``settings``, ``db``, ``http``, ``clock``, ``tenant()``)."""

    settings: Settings
    db: Database
    http: httpx.AsyncClient
    clock: MovableClock
    temporal: FakeTemporalJobs = field(default_factory=FakeTemporalJobs)

    async def tenant(self, **kw: Any) -> Tenant:
        return await make_tenant(self.db, self.settings.signing_key(), **kw)

    def app(self, settings: Settings) -> Any:
        """Another in-process app on the same database and clock, with other settings."""
        return in_process(settings, self.clock, self.temporal)


async def migrated(settings: Settings) -> Database:
    await upgrade(settings.database_url)
    return Database(settings.database_url)
