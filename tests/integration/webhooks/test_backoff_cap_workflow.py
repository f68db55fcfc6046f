"""The configured backoff cap (SCRIPE_WEBHOOK_MAX_BACKOFF_SECONDS, carried in the delivery
workflow's input) in the time-skipping test server, with real activities, a real database
and the local receiver. A worker killed mid-delivery is the chaos suite's webhook_outage."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, timedelta

import httpx
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.webhooks import WebhookActivities
from db.engine import Database
from tests.utils.webhooks import Receiver, pending_delivery
from workflows.webhook_delivery import WebhookDeliveryWorkflow


@asynccontextmanager
async def delivery_worker(
    env: WorkflowEnvironment, db: Database, task_queue: str
) -> AsyncIterator[Worker]:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http:
        activities = WebhookActivities(db=db, http=http, timeout_seconds=5, allow_private=True)
        worker = Worker(
            env.client,
            task_queue=task_queue,
            workflows=[WebhookDeliveryWorkflow],
            activities=[activities.attempt_delivery, activities.give_up],
        )
        async with worker:
            yield worker


async def test_the_configured_cap_bounds_the_waits_between_attempts(
    time_skipping_env: WorkflowEnvironment, sqlite_db: Database, receiver: Receiver
) -> None:
    receiver.fake.script.extend(["500"] * 10)
    start = (await pending_delivery(sqlite_db, receiver, "capped")).model_copy(
        update={"max_backoff_seconds": 20.0}
    )
    task_queue = f"hooks-{uuid.uuid4().hex[:8]}"
    async with delivery_worker(time_skipping_env, sqlite_db, task_queue):
        result = await time_skipping_env.client.execute_workflow(
            WebhookDeliveryWorkflow.run,
            start,
            id=f"webhook-delivery-{start.delivery_id}",
            task_queue=task_queue,
        )
    assert result.outcome == "delivered" and result.attempt == 11
    history = await time_skipping_env.client.get_workflow_handle(
        f"webhook-delivery-{start.delivery_id}"
    ).fetch_history()
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.HasField("timer_started_event_attributes")
    ]
    assert len(timers) == 10
    # Uncapped, waits 7 to 10 would be 160 s to 2560 s (half of it at least).
    assert max(timers) <= timedelta(seconds=20)
    first = history.events[0].event_time.ToDatetime(UTC)
    last = history.events[-1].event_time.ToDatetime(UTC)
    assert last - first < timedelta(minutes=5)
