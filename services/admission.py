"""Temporal's side of a job: admission by update-with-start, and the bounded wait.

The workflow id is the job id. ``USE_EXISTING`` plus the fixed update id make concurrent
duplicates attach to one workflow and one admission; ``REJECT_DUPLICATE`` keeps a closed
job from ever being started a second time (a new job always gets a new id).

While Temporal is down the SDK retries a call for up to 10 s, and the admission wait
(``SCRIPE_ADMISSION_TIMEOUT_MS``) would hold the customer for its full 5 s and then answer
202 for a job whose workflow was never started. So while the call is pending, Temporal's
health is probed every ``PROBE_AFTER``: a server that refuses connections is a 503 at once
(about 0.5 s). A server that is merely slow (probes time out) is waited for as before; after
a timed-out admission the workflow is started without the update if it does not exist yet
(it admits the job itself), and a server that cannot do that in time is a 503 too, never a
202 for a job that will not run. The job row then stays unacknowledged (invisible), and a
retry with the same ``Idempotency-Key`` picks it up again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
    ADMIT_UPDATE,
    ADMIT_UPDATE_ID,
    JOB_WORKFLOW_TYPE,
    SA_JOB_MODE,
    SA_JOB_STATUS,
    SA_PROJECT_ID,
    SA_WORKSPACE_ID,
    SPEND_CAP_EXCEEDED,
    Admission,
    AdmitRequest,
    JobOutcome,
    JobStatus,
    PostGenerationInput,
    SpendRefusal,
)
from services.errors import ServiceUnavailable

# A healthy admission answers in well under 0.5 s; a slower one triggers the probe.
PROBE_AFTER = 0.5
# One health check: Temporal answers it in a few ms when it is up. A refused connection
# fails at once; a probe that times out only says the server is slow.
PROBE_TIMEOUT = 1.0
# Making sure, after the admission timed out, that the workflow was started.
START_TIMEOUT = 2.0
UNREACHABLE_MESSAGE = "The job engine is unreachable; retry shortly."

log = logging.getLogger("scripe.api")


@dataclass(frozen=True)
class AdmissionResult:
    outcome: Literal["admitted", "refused", "pending", "closed"]
    refusal: SpendRefusal | None = None


class TemporalJobs:
    def __init__(self, *, client: Client, task_queue: str, admission_timeout: float) -> None:
        self._client = client
        self._task_queue = task_queue
        self._admission_timeout = admission_timeout

    @property
    def client(self) -> Client:
        return self._client

    async def admit(self, job: PostGenerationInput) -> AdmissionResult:
        """Start the job's workflow (or find it) and wait, bounded, for its admission.

        ``pending``: no worker answered in time; the workflow admits the job when one does.
        ``closed``: the workflow already ended (cancelled or finished); read the job row.
        """
        operation: WithStartWorkflowOperation[Any, JobOutcome] = WithStartWorkflowOperation(
            JOB_WORKFLOW_TYPE, job, result_type=JobOutcome, **self._start_options(job)
        )
        call = asyncio.ensure_future(
            self._client.execute_update_with_start_workflow(
                ADMIT_UPDATE,
                AdmitRequest(),
                start_workflow_operation=operation,
                id=ADMIT_UPDATE_ID,
                result_type=Admission,
            )
        )
        try:
            async with asyncio.timeout(self._admission_timeout):
                await self._unless_unreachable(call)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == SPEND_CAP_EXCEEDED:
                refusal = SpendRefusal.model_validate(cause.details[0]) if cause.details else None
                return AdmissionResult("refused", refusal)
            raise
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            # Accepted only once the workflow surely exists: it admits the job itself when a
            # worker picks it up. If Temporal cannot confirm that in time, 503 (retry with the
            # same Idempotency-Key to get the same job).
            await self._ensure_started(job)
            return AdmissionResult("pending")
        except WorkflowAlreadyStartedError:
            return AdmissionResult("closed")
        except (RPCError, RuntimeError) as err:
            if not is_unreachable(err):
                raise
            raise ServiceUnavailable(UNREACHABLE_MESSAGE) from err
        finally:
            if not call.done():
                call.cancel()
                await asyncio.wait({call})
            _mark_retrieved(call, operation)
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
            # No memo: JobStatus says QUEUED, and the lean workflow (v4) upserts a memo only
            # when a job fails, so a start memo would stay behind, stale, on a DONE job.
            "static_summary": _summary(job),
            "static_details": _details(job),
        }

    async def _ensure_started(self, job: PostGenerationInput) -> None:
        """After an admission timeout, make sure the workflow exists: the call may have
        timed out before the server took the start. Started without the update, the
        workflow still admits the job: admission never depends on the update."""
        if await self._refused():  # fails at once, where the SDK would retry for 10 s
            raise _refuses_connections()
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await self._client.start_workflow(
                    JOB_WORKFLOW_TYPE,
                    job,
                    result_type=JobOutcome,
                    **self._start_options(job),
                    rpc_timeout=timedelta(seconds=START_TIMEOUT),
                )
        except WorkflowAlreadyStartedError:
            pass  # it ran and closed already: the job row says how it ended
        except (TimeoutError, RPCError, RuntimeError) as err:
            if isinstance(err, RPCError | RuntimeError) and not is_unreachable(err):
                raise
            log.warning("admission: cannot confirm %s was started; answering 503", job.job_id)
            raise ServiceUnavailable(UNREACHABLE_MESSAGE) from err

    async def _unless_unreachable(self, call: asyncio.Future[Any]) -> None:
        """Await ``call``, probing Temporal's health every ``PROBE_AFTER`` while it is slow.

        Only a definite "cannot connect" gives up (503). A probe that merely times out means
        a slow server (e.g. under load): the wait goes on, bounded by the admission timeout.
        """
        while not call.done():
            await asyncio.wait({call}, timeout=PROBE_AFTER)
            if not call.done() and await self._refused():
                raise _refuses_connections()
        await call

    async def _check_health(self) -> None:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await self._client.service_client.check_health(timeout=timedelta(seconds=PROBE_TIMEOUT))

    async def _refused(self) -> bool:
        """A definite "cannot connect" (not a slow answer)."""
        try:
            await self._check_health()
        except (RPCError, RuntimeError) as err:
            return is_unreachable(err) and not _timed_out(err)
        except TimeoutError:
            return False
        return False

    async def wait_for_completion(self, job_id: str, timeout_ms: int) -> None:
        """Return when the job's workflow has closed, or after ``timeout_ms``.

        Whatever goes wrong while waiting, the caller answers with the job as it is now.
        """
        handle = self._client.get_workflow_handle(job_id)
        with contextlib.suppress(TimeoutError, WorkflowFailureError, RPCError, RuntimeError):
            async with asyncio.timeout(timeout_ms / 1000):
                await handle.result(rpc_timeout=timedelta(milliseconds=timeout_ms + 1000))

    async def request_cancel(self, job_id: str) -> None:
        """Ask Temporal to cancel the job's workflow (its current run); the workflow settles
        the job CANCELLED. One that closed meanwhile needs nothing: its row says how."""
        try:
            await self._client.get_workflow_handle(job_id).cancel()
        except (RPCError, RuntimeError) as err:
            if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
                return
            if is_unreachable(err):
                raise ServiceUnavailable(UNREACHABLE_MESSAGE) from err
            raise

    async def reachable(self) -> bool:
        try:
            await self._check_health()
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable" for health
            return False


def _refuses_connections() -> ServiceUnavailable:
    log.warning("admission: Temporal refuses connections; answering 503")
    return ServiceUnavailable(UNREACHABLE_MESSAGE)


def _mark_retrieved(
    call: asyncio.Future[Any], operation: WithStartWorkflowOperation[Any, Any]
) -> None:
    """A failed update-with-start also fails the start operation's handle future, which
    nobody awaits here; asyncio would log "Future exception was never retrieved" for it."""
    if not call.cancelled():
        call.exception()
    handle = getattr(operation, "_workflow_handle", None)  # the SDK keeps it private
    if isinstance(handle, asyncio.Future) and handle.done() and not handle.cancelled():
        handle.exception()


def _timed_out(err: Exception) -> bool:
    return isinstance(err, RPCError) and err.status == RPCStatusCode.DEADLINE_EXCEEDED


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
