"""Job outcomes, counted by the workflow with the SDK's replay-safe meter (nothing is
recorded while a worker replays history) and served on the worker's metrics endpoint.

``scripe_jobs_finished`` (counter): jobs by ``status`` (DONE, FAILED, CANCELLED, REFUSED),
``error_code`` (``none`` when DONE) and ``mode``.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import JobMode, JobOutcome


def record_outcome(outcome: JobOutcome, *, mode: JobMode) -> None:
    status = outcome.status.value
    error_code = outcome.error_code or "none"
    workflow.metric_meter().create_counter(
        "scripe_jobs_finished", "Jobs that ended, by status and error code"
    ).add(1, {"status": status, "error_code": error_code, "mode": mode.value})
    workflow.logger.info(
        "job finished: %s", status, extra={"status": status, "error_code": error_code}
    )
