"""A job whose workspace (in its mode) has no enabled endpoint subscribed to its events
starts no WebhookEventsWorkflow: the check runs in the job's settling transaction and the
workflow skips the child (``webhook-events-only-when-subscribed``). A subscribed endpoint
still gets its events.

The real stack: dev server, job worker, webhook worker, the API over HTTP.
"""

from __future__ import annotations

import pytest
from temporalio.service import RPCError, RPCStatusCode

from contracts import job_events_workflow_id
from devtools.tenants import Tenant
from tests.utils.jobs import done_job
from tests.utils.stack import FakeLlm, Stack
from tests.utils.webhooks import Receiver, create_endpoint

pytestmark = pytest.mark.usefixtures("webhook_worker")


async def _emitted(stack: Stack, job_id: str) -> bool:
    """Whether the job's events workflow was started."""
    try:
        await stack.client.get_workflow_handle(job_events_workflow_id(job_id)).describe()
    except RPCError as err:
        assert err.status is RPCStatusCode.NOT_FOUND, err
        return False
    return True


async def _child_starts(stack: Stack, job_id: str) -> int:
    history = await stack.client.get_workflow_handle(job_id).fetch_history()
    return sum(
        1
        for e in history.events
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    )


async def test_a_job_without_endpoints_starts_no_events_workflow(
    stack: Stack, tenant: Tenant
) -> None:
    job = await done_job(stack, tenant)
    assert job["status"] == "DONE"
    assert not await _emitted(stack, job["id"])
    assert await _child_starts(stack, job["id"]) == 0


async def test_endpoints_that_want_other_events_or_another_mode_do_not_count(
    stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    await create_endpoint(stack, tenant, receiver, "failures-only", events=["job.failed"])
    await create_endpoint(stack, tenant, receiver, "live-only", mode="live")
    job = await done_job(stack, tenant)  # test mode, DONE: job.completed and post.created
    assert job["status"] == "DONE"
    assert not await _emitted(stack, job["id"])


async def test_a_failed_job_with_no_job_failed_subscriber_emits_nothing(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    await create_endpoint(
        stack, tenant, receiver, "done-only", events=["job.completed"], mode="live"
    )
    llm.fake.script.append("400")  # provider_rejected: the job fails at once
    job = await done_job(stack, tenant, "live")
    assert job["status"] == "FAILED"
    assert not await _emitted(stack, job["id"])


async def test_a_subscribed_endpoint_still_gets_the_events(
    stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    await create_endpoint(stack, tenant, receiver, "posts-only", events=["post.created"])
    job = await done_job(stack, tenant)
    assert job["status"] == "DONE"
    assert await _emitted(stack, job["id"])
    assert await _child_starts(stack, job["id"]) == 1
