"""The delivery workflow's retry window in the time-skipping test server: real activities,
a real database and the local receiver; three days of timers pass in seconds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.webhooks import WebhookActivities
from db.engine import Database
from db.repo import webhooks as repo
from domain.webhooks import GIVE_UP_AFTER
from tests.utils.webhooks import Receiver, pending_delivery
from workflows.webhook_delivery import WebhookDeliveryWorkflow


@pytest.fixture
async def delivery_worker(
    time_skipping_env: WorkflowEnvironment, sqlite_db: Database
) -> AsyncIterator[str]:
    task_queue = f"hooks-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http:
        activities = WebhookActivities(
            db=sqlite_db, http=http, timeout_seconds=2, allow_private=True
        )
        async with Worker(
            time_skipping_env.client,
            task_queue=task_queue,
            workflows=[WebhookDeliveryWorkflow],
            activities=[activities.attempt_delivery, activities.give_up],
        ):
            yield task_queue


async def test_three_days_of_failures_fail_the_delivery_and_disable_the_endpoint(
    time_skipping_env: WorkflowEnvironment,
    sqlite_db: Database,
    receiver: Receiver,
    delivery_worker: str,
) -> None:
    receiver.fake.down = True  # 503 to everything
    start = await pending_delivery(sqlite_db, receiver, "dead")
    result = await time_skipping_env.client.execute_workflow(
        WebhookDeliveryWorkflow.run,
        start,
        id=f"webhook-delivery-{start.delivery_id}",
        task_queue=delivery_worker,
    )
    assert result.outcome == "retry" and result.status_code == 503
    [view] = await repo.list_deliveries(
        db=sqlite_db, endpoint_id=start.endpoint_id, after=None, limit=5
    )
    assert view.delivery.status == "FAILED" and "3 days" in (view.delivery.failure_reason or "")
    attempts = view.attempts
    # 5 s doubling to 6 h with jitter: about twenty attempts fill three days.
    assert 12 <= len(attempts) <= 40, len(attempts)
    assert {a.status_code for a in attempts} == {503}
    assert len(receiver.fake.for_name("dead")) == len(attempts)
    assert all(r.verified for r in receiver.fake.for_name("dead"))
    assert {r.webhook_id for r in receiver.fake.for_name("dead")} == {start.event_id}
    endpoint = await repo.get_endpoint(db=sqlite_db, endpoint_id=start.endpoint_id)
    assert endpoint is not None and endpoint.enabled is False
    assert "3 days" in (endpoint.disabled_reason or "")
    history = await time_skipping_env.client.get_workflow_handle(
        f"webhook-delivery-{start.delivery_id}"
    ).fetch_history()
    assert (
        history.events[-1].event_time.ToDatetime(UTC) - history.events[0].event_time.ToDatetime(UTC)
        <= GIVE_UP_AFTER
    )


async def test_a_receiver_that_comes_back_gets_the_delivery(
    time_skipping_env: WorkflowEnvironment,
    sqlite_db: Database,
    receiver: Receiver,
    delivery_worker: str,
) -> None:
    receiver.fake.script.extend(["500"] * 8)  # down for the first hours
    start = await pending_delivery(sqlite_db, receiver, "back")
    result = await time_skipping_env.client.execute_workflow(
        WebhookDeliveryWorkflow.run,
        start,
        id=f"webhook-delivery-{start.delivery_id}",
        task_queue=delivery_worker,
    )
    assert result.outcome == "delivered" and result.attempt == 9
    endpoint = await repo.get_endpoint(db=sqlite_db, endpoint_id=start.endpoint_id)
    assert endpoint is not None and endpoint.enabled is True
