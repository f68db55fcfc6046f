"""Database steps of the activities: transient errors waited out inside the step, permanent
ones turned into the job's documented failure.

* ``storage_rejected`` (not retryable): the database refused the step for good (a value it
  cannot store, an integrity error, a missing row). The workflow fails the job with it and
  settles it, instead of retrying the same statement forever.
* ``job_already_finished`` (not retryable, internal): the job row is final or belongs to
  another run; ``details[0]`` is ``{"status": ..., "post_id": ...}``.

Regular activities retry for ``STEP_BUDGET_SECONDS`` (their heartbeat keeps the attempt
alive meanwhile); local activities for a few seconds, then Temporal's retry policy takes
over (``workflows/policies.py`` bounds it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts import JOB_ALREADY_FINISHED, JOB_ERROR_MESSAGES, STORAGE_REJECTED
from db import retry
from db.errors import StorageRejected
from db.repo.jobs import JobAlreadyFinished

T = TypeVar("T")

# A local activity's own attempt is short (start-to-close 15 s): retry briefly inside it.
LOCAL_STEP_BUDGET_SECONDS = 8.0


async def db_step(
    step: Callable[[], Awaitable[T]], *, what: str, budget_seconds: float | None = None
) -> T:
    budget = retry.STEP_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    try:
        return await retry.retrying(step, what=what, budget_seconds=budget)
    except StorageRejected as err:
        activity.logger.error("%s: storage rejected: %s", what, err)
        raise storage_rejected() from err
    except JobAlreadyFinished as err:
        activity.logger.warning("%s: the job is %s already; nothing to do", what, err.status)
        raise job_already_finished(err) from err


async def local_db_step(step: Callable[[], Awaitable[T]], *, what: str) -> T:
    return await db_step(step, what=what, budget_seconds=LOCAL_STEP_BUDGET_SECONDS)


def job_already_finished(err: JobAlreadyFinished) -> ApplicationError:
    return ApplicationError(
        str(err),
        {"status": err.status, "post_id": err.post_id},
        type=JOB_ALREADY_FINISHED,
        non_retryable=True,
    )


def storage_rejected() -> ApplicationError:
    return ApplicationError(
        JOB_ERROR_MESSAGES[STORAGE_REJECTED], type=STORAGE_REJECTED, non_retryable=True
    )
