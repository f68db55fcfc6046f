"""The floor's workflows: the least a Temporal job can do, for the API to be compared with.

Imports only temporalio so the workflow sandbox loads it as is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class FloorInput:
    activities: int = 0
    activity_seconds: float = 0.0  # how long each activity takes (the "LLM call")


@activity.defn
async def floor_step(seconds: float) -> None:
    """Does nothing, or waits like a provider call would."""
    if seconds:
        await asyncio.sleep(seconds)


async def _run_steps(job: FloorInput) -> None:
    for _ in range(job.activities):
        await workflow.execute_activity(
            floor_step, job.activity_seconds, start_to_close_timeout=TIMEOUT
        )


@workflow.defn
class FloorPlain:
    """Start, run the activities, end."""

    @workflow.run
    async def run(self, job: FloorInput) -> None:
        await _run_steps(job)


@workflow.defn
class FloorAdmitted:
    """Waits for the ``admit`` update (the handler only sets a flag), then runs."""

    def __init__(self) -> None:
        self._admitted = False

    @workflow.run
    async def run(self, job: FloorInput) -> None:
        await workflow.wait_condition(lambda: self._admitted)
        await _run_steps(job)

    @workflow.update
    async def admit(self) -> bool:
        self._admitted = True
        return True
