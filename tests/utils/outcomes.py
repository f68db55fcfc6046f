"""A job's outcome from its workflow, whether the workflow completed or failed.

A FAILED job's workflow ends *Failed* (its errorCode as the failure type, the
``JobOutcome`` in the failure's details), so ``handle.result()`` raises for it.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from contracts import JobOutcome


async def job_outcome(handle: WorkflowHandle[Any, JobOutcome]) -> JobOutcome:
    try:
        return await handle.result()
    except WorkflowFailureError as err:
        cause = err.cause
        if not isinstance(cause, ApplicationError) or not cause.details:
            raise
        return JobOutcome.model_validate(cause.details[0])
