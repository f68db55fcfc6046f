"""Customer traffic for the scenarios: submissions, waiting for jobs, and outage probes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from contracts import JobStatus
from db.engine import Database
from db.tables import Job
from devtools.tenants import Tenant, generation_body

FINAL = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REFUSED)


@dataclass
class Submission:
    key: str
    status: int
    seconds: float
    job_id: str | None


async def submit(
    http: httpx.AsyncClient,
    tenant: Tenant,
    *,
    mode: Literal["live", "test"] = "live",
    key: str | None = None,
    **body: Any,
) -> Submission:
    """POST one generation with an Idempotency-Key (a retry with it finds the same job)."""
    key = key or uuid.uuid4().hex
    started = time.monotonic()
    try:
        response = await http.post(
            "/v1/posts/generations",
            json=generation_body(tenant, **body),
            headers=tenant.headers(mode, **{"Idempotency-Key": key}),
        )
    except httpx.HTTPError:
        return Submission(key, 0, time.monotonic() - started, None)
    job_id = response.json().get("data", {}).get("id") if response.status_code < 300 else None
    return Submission(key, response.status_code, time.monotonic() - started, job_id)


async def submit_until_accepted(
    http: httpx.AsyncClient,
    tenant: Tenant,
    key: str,
    *,
    timeout: float = 120,
    interval: float = 1.0,
    **kw: Any,
) -> Submission:
    """Retry a submission with the same key, as a client told 503 + Retry-After would."""
    deadline = time.monotonic() + timeout
    while True:
        result = await submit(http, tenant, key=key, **kw)
        if result.status in (200, 202) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


async def seconds_until_accepted(
    http: httpx.AsyncClient, tenant: Tenant, *, interval: float, timeout: float = 120
) -> float:
    """How long after an outage until a new submission is admitted again. Raises when none
    is within ``timeout``: a recovery that never came is a failed scenario, not a figure."""
    started = time.monotonic()
    # A fresh, valid Idempotency-Key (a malformed one is 400 and would never be admitted).
    key = f"recovery-{uuid.uuid4().hex}"
    submission = await submit_until_accepted(
        http, tenant, key, mode="test", interval=interval, timeout=timeout
    )
    if submission.status not in (200, 202):
        raise AssertionError(
            f"no submission admitted within {timeout:g} s (last status {submission.status})"
        )
    return time.monotonic() - started


async def wait_final(db: Database, job_ids: set[str], *, timeout: float) -> set[str]:
    """Until every job is in a final state; returns those that are not (empty: all done)."""
    deadline = time.monotonic() + timeout
    pending = set(job_ids)
    while pending and time.monotonic() < deadline:
        async with db.read() as session:
            rows = await session.execute(select(Job.id, Job.status).where(Job.id.in_(pending)))
            pending -= {job_id for job_id, status in rows if status in FINAL}
        if pending:
            await asyncio.sleep(0.5)
    return pending


async def wait_workspaces_final(
    db: Database, temporal: Client, workspace_ids: list[str], *, timeout: float = 300
) -> None:
    """Until no job of these workspaces is in flight. A row that a 503 left unacknowledged
    counts only if its workflow was started (it then admits itself after its grace time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with db.read() as session:
            rows = (
                await session.execute(
                    select(Job.id, Job.status, Job.acknowledged).where(
                        Job.workspace_id.in_(workspace_ids)
                        & Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])
                    )
                )
            ).all()
        in_flight = [
            job_id
            for job_id, status, acknowledged in rows
            if status == JobStatus.RUNNING
            or acknowledged
            or await _workflow_running(temporal, job_id)
        ]
        if not in_flight:
            break
        await asyncio.sleep(0.5)
    # A row can be final while its workflow still runs: after a Temporal restart the
    # workflow task that settled the row may have to time out and run again before the
    # workflow closes. The audit compares closed workflows with rows, so wait for those too.
    async with db.read_statement() as session:
        final = (
            await session.scalars(
                select(Job.id).where(
                    Job.workspace_id.in_(workspace_ids)
                    & Job.status.not_in([JobStatus.QUEUED, JobStatus.RUNNING])
                )
            )
        ).all()
    running = list(final)
    while running and time.monotonic() < deadline:
        running = [job_id for job_id in running if await _workflow_running(temporal, job_id)]
        if running:
            await asyncio.sleep(0.5)


async def _workflow_running(temporal: Client, job_id: str) -> bool:
    try:
        described = await temporal.get_workflow_handle(job_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return described.status == WorkflowExecutionStatus.RUNNING


@dataclass
class ProbeLog:
    """Every answer the API gave during an outage window: status, latency, envelope."""

    samples: list[tuple[str, int, float, bool]] = field(default_factory=list)

    def add(self, route: str, status: int, seconds: float, proper: bool) -> None:
        self.samples.append((route, status, seconds, proper))

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def slowest_503(self) -> float:
        return max((s for _, status, s, _ in self.samples if status == 503), default=0.0)

    @property
    def slowest_2xx(self) -> float:
        return max((s for _, status, s, _ in self.samples if status < 300), default=0.0)

    def statuses(self) -> dict[str, dict[int, int]]:
        table: dict[str, Counter[int]] = {}
        for route, status, _, _ in self.samples:
            table.setdefault(route, Counter())[status] += 1
        return {route: dict(counts) for route, counts in table.items()}

    @property
    def improper(self) -> list[tuple[str, int, float, bool]]:
        return [s for s in self.samples if not s[3]]


async def probe_outage(
    http: httpx.AsyncClient,
    tenant: Tenant,
    known_job: str,
    stop: asyncio.Event,
    log: ProbeLog,
    *,
    every: float = 0.25,
) -> None:
    """Hit the API like customers would while a dependency is down.

    Proper answers: 503 ``service_unavailable`` with ``Retry-After`` in the error envelope
    (health: 503 with ``Retry-After`` and ``status: degraded``) within 2 s, or 2xx.
    """
    routes = [
        ("POST /v1/posts/generations", "POST", "/v1/posts/generations"),
        ("GET /v1/jobs/{id}", "GET", f"/v1/jobs/{known_job}"),
        ("GET /v1/jobs", "GET", "/v1/jobs?limit=5"),
        ("GET /v1/health", "GET", "/v1/health"),
    ]
    while not stop.is_set():
        for name, method, path in routes:
            kwargs: dict[str, Any] = {"headers": tenant.headers("test")}
            if method == "POST":
                kwargs["json"] = generation_body(tenant)
            started = time.monotonic()
            try:
                response = await http.request(method, path, timeout=10, **kwargs)
            except httpx.HTTPError:
                log.add(name, 0, time.monotonic() - started, False)
                continue
            seconds = time.monotonic() - started
            log.add(name, response.status_code, seconds, _proper(name, response, seconds))
        await asyncio.sleep(every)


# A submission that got past its database steps before the outage waits for its admission
# as usual (SCRIPE_ADMISSION_TIMEOUT_MS, 5 s by default) and is accepted: slow, not hanging.
SUBMIT_BOUND_SECONDS = 6.5


def _proper(route: str, response: httpx.Response, seconds: float) -> bool:
    """503 + Retry-After in the envelope within 2 s; or 2xx, within 2 s for reads and
    within the admission bound for submissions."""
    if response.status_code < 300:
        return seconds <= (SUBMIT_BOUND_SECONDS if route.startswith("POST") else 2.0)
    if seconds > 2.0 or response.status_code != 503 or not response.headers.get("retry-after"):
        return False
    body = response.json()
    if route == "GET /v1/health":
        return bool(body.get("status") == "degraded")
    error = body.get("error", {})
    return bool(error.get("code") == "service_unavailable" and error.get("request_id"))
