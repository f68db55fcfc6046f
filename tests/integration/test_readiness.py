"""The supervisor's worker readiness names the worker: a poller that another (or a
stopped) worker left in the task queue's list does not make a new worker "ready"."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from cli.supervisor import wait_worker, worker_identity, worker_polling
from tests.utils.stack import Stack


async def test_a_stale_poller_does_not_count_as_the_new_worker(stack: Stack) -> None:
    queue = f"readiness-{uuid.uuid4().hex[:8]}"
    settings = stack.settings.model_copy(update={"temporal_task_queue": queue})
    old_identity = stack.client.identity  # the in-process worker polls as the SDK's default
    async with stack.worker(queue):
        await wait_worker(stack.client, settings, old_identity, timeout=30)
    described = await stack.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    # The stopped worker is still listed: "any poller" would call a new worker ready.
    assert [p.identity for p in described.pollers] == [old_identity]
    fresh = worker_identity()
    assert not await worker_polling(stack.client, settings, fresh)
    with pytest.raises(TimeoutError, match=fresh):
        await wait_worker(stack.client, settings, fresh, timeout=0.5)
