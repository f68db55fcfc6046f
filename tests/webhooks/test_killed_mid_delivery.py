"""A delivery worker that stops mid-attempt, and the configured backoff cap, in the
time-skipping test server with real activities, a real database and the local receiver."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, timedelta
from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.webhooks import WebhookActivities
from db.engine import Database
from db.repo import webhooks as repo
from tests.utils.waiting import eventually
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_give_up import pending_delivery
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


async def test_a_worker_stopped_mid_attempt_costs_at_most_one_extra_delivery(
    time_skipping_env: WorkflowEnvironment, sqlite_db: Database, receiver: Receiver
) -> None:
    receiver.fake.slow_seconds = 3.0
    receiver.fake.script.append("slow")  # the first attempt is in flight when the worker goes
    start = await pending_delivery(sqlite_db, receiver, "cut")
    task_queue = f"hooks-{uuid.uuid4().hex[:8]}"
    workflow_id = f"webhook-delivery-{start.delivery_id}"
    async with delivery_worker(time_skipping_env, sqlite_db, task_queue):
        handle = await time_skipping_env.client.start_workflow(
            WebhookDeliveryWorkflow.run, start, id=workflow_id, task_queue=task_queue
        )
        await eventually(lambda: _received(receiver, "cut", 1), timeout=30)
        # Leaving the block shuts the worker down at once: the attempt is cut short.
    assert not await _finished(handle)
    async with delivery_worker(time_skipping_env, sqlite_db, task_queue):
        result = await handle.result()
    assert result.outcome == "delivered"
    got = receiver.fake.for_name("cut")
    assert len(got) == 2  # the cut-short request and one more, never a third
    assert {r.webhook_id for r in got} == {start.event_id}
    assert got[0].body == got[1].body and all(r.verified for r in got)
    [view] = await repo.list_deliveries(
        db=sqlite_db, endpoint_id=start.endpoint_id, after=None, limit=5
    )
    assert view.delivery.status == "DELIVERED"
    assert [a.status_code for a in sorted(view.attempts, key=lambda a: a.number)][-1] == 204


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


async def _received(receiver: Receiver, name: str, n: int) -> bool:
    return len(receiver.fake.for_name(name)) >= n


async def _finished(handle: WorkflowHandle[Any, Any]) -> bool:
    description = await handle.describe()
    return description.status != WorkflowExecutionStatus.RUNNING
