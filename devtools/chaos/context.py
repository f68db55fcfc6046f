"""What every scenario gets: the running stack, clients, and a way to make tenants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.client import Client

from db.engine import Database
from devtools.chaos.invariants import Audit, audit
from devtools.chaos.report import Result
from devtools.chaos.stack import ChaosStack
from devtools.chaos.traffic import Submission, wait_final, wait_workspaces_final
from devtools.tenants import Tenant, make_tenant


@dataclass
class Context:
    stack: ChaosStack
    db: Database
    temporal: Client
    http: httpx.AsyncClient
    short: bool

    async def tenant(self, name: str, **kw: Any) -> Tenant:
        kw.setdefault("plan", "ENTERPRISE")  # scenarios measure the pipeline, not the cap
        kw.setdefault("rate_limit", None)
        return await make_tenant(self.db, self.stack.settings.signing_key(), name=name, **kw)

    async def llm(self, **config: Any) -> None:
        """Latency and faults of the fake LLM from now on."""
        defaults: dict[str, Any] = {"latency_ms": 0, "fault_rate": 0.0, "retry_after": "1"}
        async with httpx.AsyncClient(base_url=self.stack.llm_url) as http:
            response = await http.post("/_chaos/config", json={**defaults, **config})
            response.raise_for_status()

    async def llm_stats(self) -> dict[str, int]:
        async with httpx.AsyncClient(base_url=self.stack.llm_url) as http:
            stats: dict[str, int] = (await http.get("/_chaos/stats")).json()
            return stats

    async def expect_finished(self, result: Result, submissions: list[Submission]) -> None:
        """Every submission was accepted, and every accepted job ends (DONE or FAILED)."""
        job_ids = {s.job_id for s in submissions if s.job_id}
        unfinished = await wait_final(self.db, job_ids, timeout=600)
        result.expect(all(s.job_id for s in submissions), "a submission was never accepted")
        result.expect(not unfinished, f"{len(unfinished)} jobs never finished")

    async def audit_into(self, result: Result, *workspace_ids: str) -> Audit:
        """Once nothing is in flight, check the invariants and put the figures and
        violations on ``result``."""
        await wait_workspaces_final(self.db, self.temporal, list(workspace_ids))
        found = await audit(self.db, self.temporal, workspace_ids)
        result.figures["jobs"] = found.jobs
        result.figures["statuses"] = dict(found.statuses)
        if found.error_codes:
            result.figures["errorCodes"] = dict(found.error_codes)
        result.figures["charges"] = found.charges
        if found.unadmitted_rows:
            result.figures["503'd rows never started"] = found.unadmitted_rows
        for violation in found.violations:
            result.expect(False, violation)
        return found
