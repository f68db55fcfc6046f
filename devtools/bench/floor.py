"""(a) The floor: raw temporalio calls on the same dev server, client and worker in this
process (the API's path adds HTTP, the database and a second process on top)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from devtools.bench.floor_workflows import FloorAdmitted, FloorInput, FloorPlain, floor_step

TASK_QUEUE = "bench-floor"


class Floor:
    def __init__(self, client: Client) -> None:
        self._client = client

    @asynccontextmanager
    async def worker(self) -> AsyncIterator[None]:
        async with Worker(
            self._client,
            task_queue=TASK_QUEUE,
            workflows=[FloorPlain, FloorAdmitted],
            activities=[floor_step],
        ):
            yield

    def start_workflow(self) -> Callable[[], Awaitable[None]]:
        async def operation() -> None:
            await self._client.start_workflow(
                FloorPlain.run, FloorInput(), id=_new_id("start"), task_queue=TASK_QUEUE
            )

        return operation

    def update_with_start(self, activities: int = 0) -> Callable[[], Awaitable[None]]:
        """Admission as the API does it: start + ``admit`` update in one call."""

        async def operation() -> None:
            await self._client.execute_update_with_start_workflow(
                FloorAdmitted.admit,
                start_workflow_operation=self._admitted(activities),
            )

        return operation

    def one_activity(self, seconds: float = 0.0) -> Callable[[], Awaitable[None]]:
        """A one-activity workflow, start to result."""

        async def operation() -> None:
            await self._client.execute_workflow(
                FloorPlain.run,
                FloorInput(activities=1, activity_seconds=seconds),
                id=_new_id("e2e"),
                task_queue=TASK_QUEUE,
            )

        return operation

    def admitted_one_activity(self) -> Callable[[], Awaitable[None]]:
        """Update-with-start, then the one-activity workflow's result: the API's shape."""

        async def operation() -> None:
            start = self._admitted(1)
            await self._client.execute_update_with_start_workflow(
                FloorAdmitted.admit, start_workflow_operation=start
            )
            await (await start.workflow_handle()).result()

        return operation

    @staticmethod
    def _admitted(activities: int) -> WithStartWorkflowOperation[FloorAdmitted, None]:
        return WithStartWorkflowOperation(
            FloorAdmitted.run,
            FloorInput(activities=activities),
            id=_new_id("uws"),
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


def _new_id(kind: str) -> str:
    return f"bench-floor-{kind}-{uuid.uuid4().hex}"
