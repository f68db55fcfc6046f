"""API fixtures: a second API whose task queue has no worker (jobs stay QUEUED)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from api.main import create_app
from devtools.serving import serve
from tests.utils.stack import IdleApi, Stack


@pytest.fixture
async def idle_api(stack: Stack) -> AsyncIterator[IdleApi]:
    settings = stack.settings.model_copy(
        update={"temporal_task_queue": f"idle-{uuid.uuid4().hex[:8]}", "admission_timeout_ms": 300}
    )
    app = create_app(settings, clock=stack.clock, temporal_client=stack.client, migrate=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield IdleApi(http=http, settings=settings)
