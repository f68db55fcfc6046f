"""API fixtures: a second API whose task queue has no worker (jobs stay QUEUED)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from api.main import create_app
from config import Settings
from devtools.serving import serve
from tests.conftest import Stack


@dataclass
class IdleApi:
    """The same database and Temporal, but nobody polls its task queue yet."""

    http: httpx.AsyncClient
    settings: Settings


@pytest.fixture
async def idle_api(stack: Stack) -> AsyncIterator[IdleApi]:
    settings = stack.settings.model_copy(
        update={"temporal_task_queue": f"idle-{uuid.uuid4().hex[:8]}", "admission_timeout_ms": 300}
    )
    app = create_app(settings, clock=stack.clock, temporal_client=stack.client, migrate=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield IdleApi(http=http, settings=settings)
