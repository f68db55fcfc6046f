"""A live job that reaches a worker without an AI provider fails ``provider_not_configured``
(not retried) instead of getting an offline post, and holds or charges nothing.

The API refuses such a job at admission when it has no provider itself (503); this is the
worker's side: an API configured with a key in front of a worker started without one.
Real stack: dev server, the API over HTTP, a real worker whose openai client is ``None``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.llm import LlmActivities
from api.main import create_app
from contracts import JOB_ERROR_MESSAGES, PROVIDER_NOT_CONFIGURED
from db.engine import Database
from db.repo import ledger
from devtools.serving import serve
from devtools.tenants import Tenant, generation_body
from tests.utils.llm_activity import SETTINGS, JobRef, environment, request
from tests.utils.llm_activity import job as job  # noqa: F401 (fixture)
from tests.utils.stack import Stack
from worker import build_worker


@pytest.fixture
async def keyless_worker_api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The stack's API (it has a provider key) on a queue whose only worker has none."""
    settings = stack.settings.model_copy(
        update={"temporal_task_queue": stack.settings.temporal_task_queue + "-keyless"}
    )
    resources = dataclasses.replace(stack.resources, openai_client=None)
    app = create_app(settings, clock=stack.clock, temporal_client=stack.client, migrate=False)
    async with build_worker(stack.client, settings, resources), serve(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http


async def test_a_live_job_on_a_worker_without_provider_fails_provider_not_configured(
    stack: Stack, tenant: Tenant, keyless_worker_api: httpx.AsyncClient
) -> None:
    response = await keyless_worker_api.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=10_000),
        headers=tenant.headers("live"),
    )
    job = response.json()["data"]
    assert job["status"] == "FAILED", job
    assert job["errorCode"] == PROVIDER_NOT_CONFIGURED
    assert job["errorMessage"] == JOB_ERROR_MESSAGES[PROVIDER_NOT_CONFIGURED]
    assert job.get("result") is None
    entries = await ledger.job_entries(db=stack.db, job_id=job["id"])
    assert [e for e in entries if e.kind == "charge"] == []


async def test_a_test_job_on_the_same_worker_still_gets_its_offline_post(
    stack: Stack, tenant: Tenant, keyless_worker_api: httpx.AsyncClient
) -> None:
    response = await keyless_worker_api.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=10_000),
        headers=tenant.headers("test"),
    )
    assert response.json()["data"]["status"] == "DONE"


async def test_the_activity_refuses_before_holding_anything(
    any_db: Database,
    job: JobRef,  # noqa: F811
) -> None:
    before = [e.id for e in await ledger.job_entries(db=any_db, job_id=job.job_id)]
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=None)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, request(job))
    assert raised.value.type == PROVIDER_NOT_CONFIGURED and raised.value.non_retryable
    # No top-up hold and no charge: the ledger is as admission left it.
    assert [e.id for e in await ledger.job_entries(db=any_db, job_id=job.job_id)] == before
