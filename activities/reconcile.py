"""The reconciler's pass as an activity (it reads Temporal and writes the database)."""

from __future__ import annotations

from temporalio import activity

from contracts import ReconcileInput, ReconcileResult
from services.reconciliation import Reconciler


class ReconcileActivities:
    def __init__(self, reconciler: Reconciler) -> None:
        self._reconciler = reconciler

    @activity.defn(name="reconcile_jobs")
    async def reconcile_jobs(self, request: ReconcileInput) -> ReconcileResult:
        """Settle the unfinished jobs whose workflow closed (terminated, timed out…)."""
        return await self._reconciler.run_pass(request)
