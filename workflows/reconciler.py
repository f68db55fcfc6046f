"""The reconciler's workflow: one pass over the jobs whose workflow closed unsettled.

Started every minute by a Temporal Schedule (see ``services.reconciliation``), so each pass
shows in the Web UI with what it settled as its result.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from contracts import ReconcileInput, ReconcileResult


@workflow.defn
class ReconcileJobsWorkflow:
    @workflow.run
    async def run(self, request: ReconcileInput) -> ReconcileResult:
        result: ReconcileResult = await workflow.execute_activity(
            "reconcile_jobs",
            request,
            result_type=ReconcileResult,
            # Well inside the minute: the next pass starts on time.
            start_to_close_timeout=timedelta(seconds=50),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=2)),
        )
        if result.settled:
            workflow.set_current_details(
                "\n\n".join(
                    f"**{s.job_id}** workflow {s.workflow_status} → {s.status.value}"
                    + (f" `{s.error_code}`" if s.error_code else "")
                    for s in result.settled
                )
            )
        return result
