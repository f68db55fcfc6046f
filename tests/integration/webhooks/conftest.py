"""Webhook fixtures: the local receiver, the webhook worker next to the stack's worker, and
an API that applies the production destination rules (https, public addresses only)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from devtools.serving import serve
from devtools.webhook_receiver import WebhookReceiver
from tests.utils.stack import Stack, time_skipping_server
from tests.utils.webhooks import Receiver
from worker import build_webhook_worker


@pytest.fixture(scope="module")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per module here: these tests leave abandoned workflows and
    skip days of time, which other modules' tests must not inherit."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture(scope="session")
async def webhook_receiver() -> AsyncIterator[Receiver]:
    fake = WebhookReceiver()
    async with serve(fake.app(), lifespan="off") as url:
        yield Receiver(fake=fake, base_url=url)


@pytest.fixture
def receiver(webhook_receiver: Receiver) -> Receiver:
    """The session's receiver with its script and records cleared."""
    fake = webhook_receiver.fake
    fake.script.clear()
    fake.received.clear()
    fake.answered.clear()
    fake.secrets.clear()
    fake.down = False
    fake.slow_seconds = 5.0
    fake.elsewhere_hits = 0
    return webhook_receiver


@pytest.fixture(scope="session")
async def webhook_worker(stack: Stack) -> AsyncIterator[None]:
    """The stack's webhook worker: what ``scripe worker`` runs next to the job worker.
    Attempts are bounded at 1.5 s here so the slow-receiver test stays short."""
    settings = stack.settings.model_copy(update={"webhook_timeout_seconds": 1.5})
    async with build_webhook_worker(stack.client, settings, stack.resources):
        yield


@pytest.fixture
async def strict_http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The stack's API with private destinations refused, as in production."""
    settings = stack.settings.model_copy(update={"webhook_allow_private": False})
    app = create_app(settings, clock=stack.clock, temporal_client=stack.client, migrate=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http
