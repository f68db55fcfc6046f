"""Temporal's side of a job: admission by update-with-start, and the bounded wait.

The workflow id is the job id. ``USE_EXISTING`` plus the fixed update id make concurrent
duplicates attach to one workflow and one admission; ``REJECT_DUPLICATE`` keeps a closed
job from ever being started a second time (a new job always gets a new id).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import (
    ADMIT_UPDATE_ID,
    SA_JOB_MODE,
    SA_JOB_STATUS,
    SA_PROJECT_ID,
    SA_WORKSPACE_ID,
    SPEND_CAP_EXCEEDED,
    AdmitRequest,
    JobStatus,
    PostGenerationInput,
    SpendRefusal,
)
from services.errors import ServiceUnavailable
from workflows.post_generation import PostGenerationWorkflow


@dataclass(frozen=True)
class AdmissionResult:
    outcome: Literal["admitted", "refused", "pending", "closed"]
    refusal: SpendRefusal | None = None


class TemporalJobs:
    def __init__(self, *, client: Client, task_queue: str, admission_timeout: float) -> None:
        self._client = client
        self._task_queue = task_queue
        self._admission_timeout = admission_timeout

    async def admit(self, job: PostGenerationInput) -> AdmissionResult:
        """Start the job's workflow (or find it) and wait, bounded, for its admission.

        ``pending``: no worker answered in time; the workflow admits the job when one does.
        ``closed``: the workflow already ended (cancelled or finished); read the job row.
        """
        operation = WithStartWorkflowOperation(
            PostGenerationWorkflow.run, job, **self._start_options(job)
        )
        try:
            async with asyncio.timeout(self._admission_timeout):
                await self._client.execute_update_with_start_workflow(
                    PostGenerationWorkflow.admit,
                    AdmitRequest(),
                    start_workflow_operation=operation,
                    id=ADMIT_UPDATE_ID,
                )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == SPEND_CAP_EXCEEDED:
                refusal = SpendRefusal.model_validate(cause.details[0]) if cause.details else None
                return AdmissionResult("refused", refusal)
            raise
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            await self._ensure_started(job)
            return AdmissionResult("pending")
        except WorkflowAlreadyStartedError:
            return AdmissionResult("closed")
        except (RPCError, RuntimeError) as err:
            if not is_unreachable(err):
                raise
            raise ServiceUnavailable("The job engine is unreachable; retry shortly.") from err
        return AdmissionResult("admitted")

    def _start_options(self, job: PostGenerationInput) -> dict[str, Any]:
        return {
            "id": job.job_id,
            "task_queue": self._task_queue,
            "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
            "search_attributes": TypedSearchAttributes(
                [
                    SearchAttributePair(SA_WORKSPACE_ID, job.workspace_id),
                    SearchAttributePair(SA_PROJECT_ID, job.project_id),
                    SearchAttributePair(SA_JOB_MODE, job.mode.value),
                    SearchAttributePair(SA_JOB_STATUS, JobStatus.QUEUED.value),
                ]
            ),
            "memo": {"status": JobStatus.QUEUED.value, "stage": "Waiting for admission"},
            "static_summary": _summary(job),
            "static_details": _details(job),
        }

    async def _ensure_started(self, job: PostGenerationInput) -> None:
        """After an admission timeout, make sure the workflow exists: the call may have
        timed out before the server took the start. Started without the update, the
        workflow still admits the job: admission never depends on the update."""
        try:
            await self._client.start_workflow(
                PostGenerationWorkflow.run, job, **self._start_options(job)
            )
        except WorkflowAlreadyStartedError:
            pass  # it ran and closed already: the job row says how it ended
        except (RPCError, RuntimeError) as err:
            if not is_unreachable(err):
                raise
            raise ServiceUnavailable("The job engine is unreachable; retry shortly.") from err

    async def wait_for_completion(self, job_id: str, timeout_ms: int) -> None:
        """Return when the job's workflow has closed, or after ``timeout_ms``.

        Whatever goes wrong while waiting, the caller answers with the job as it is now.
        """
        handle = self._client.get_workflow_handle(job_id)
        with contextlib.suppress(TimeoutError, WorkflowFailureError, RPCError, RuntimeError):
            async with asyncio.timeout(timeout_ms / 1000):
                await handle.result(rpc_timeout=timedelta(milliseconds=timeout_ms + 1000))

    async def reachable(self) -> bool:
        try:
            await self._client.service_client.check_health(timeout=timedelta(seconds=2))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable" for health
            return False


def is_unreachable(err: Exception) -> bool:
    """Temporal could not be reached. A lazy client that cannot connect raises a plain
    RuntimeError (the SDK has no type for it), hence the look at the message."""
    if isinstance(err, RPCError):
        return err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
    return isinstance(err, RuntimeError) and str(err).startswith("Failed client connect")


def _summary(job: PostGenerationInput) -> str:
    source = "URL" if job.source.url else "text"
    return f"Post generation · {job.project_id} · {source} · {job.mode.value}"


def _details(job: PostGenerationInput) -> str:
    text = job.source.text or ""
    preview = job.source.url or (text if len(text) <= 280 else text[:279].rstrip() + "…")
    lines = [
        f"**Job** {job.job_id}",
        f"**Workspace** {job.workspace_id} ({job.mode.value} mode)",
        f"**Project** {job.project_id}",
        f"**Source** {preview}",
    ]
    if job.scheduled_for:
        lines.append(f"**Scheduled for** {job.scheduled_for.isoformat()}")
    options = job.options.model_dump(exclude_none=True)
    if options:
        lines.append(f"**Options** {options}")
    return "\n\n".join(lines)
