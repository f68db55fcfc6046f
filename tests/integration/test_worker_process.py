"""``scripe worker`` as a real process: its Prometheus
endpoint (the SDK's metrics and ours), its JSON logs, and SIGTERM with a job in flight.

Each test runs its own API (in this process) and worker processes on a task queue of
their own, against the session's Temporal dev server and fake OpenAI server.
"""

from __future__ import annotations

import asyncio
import re
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from cli.stack import dev_server_command
from cli.supervisor import (
    Supervisor,
    wait_temporal,
    wait_worker,
    worker_command,
    worker_identity,
)
from config import Settings
from db.engine import Database
from db.migrate import upgrade
from db.repo import ledger, posts
from devtools.serving import free_port, serve
from devtools.tenants import Tenant, generation_body, make_tenant
from tests.utils.processes import Process, Processes, process_env, processes
from tests.utils.stack import FakeLlm, make_settings
from tests.utils.waiting import eventually
from worker import EXIT_SHUTDOWN_TIMED_OUT


@dataclass
class Ops:
    settings: Settings
    db: Database
    http: httpx.AsyncClient
    tenant: Tenant
    procs: Processes

    def start_worker(self, **overrides: object) -> Process:
        env = process_env(self.settings, worker_metrics_port=free_port(), **overrides)
        return self.procs.start("worker", worker_command(), env)

    async def submit(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/v1/posts/generations",
            json=generation_body(self.tenant, **body),
            headers=self.tenant.headers("live"),
        )
        assert response.status_code in (200, 202), response.text
        job: dict[str, Any] = response.json()["data"]
        return job

    async def finished(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        async def done() -> dict[str, Any] | None:
            response = await self.http.get(
                f"/v1/jobs/{job_id}", headers=self.tenant.headers("live")
            )
            job: dict[str, Any] = response.json()["data"]
            return job if job["status"] in ("DONE", "FAILED") else None

        return await eventually(done, timeout=timeout, interval=0.1)


@pytest.fixture(scope="module")
async def ops_db(session_dir: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{session_dir / 'ops.db'}"
    await upgrade(url)
    db = Database(url)
    yield db
    await db.dispose()


@pytest.fixture
async def ops(
    session_dir: Path,
    tmp_path: Path,
    temporal_env: WorkflowEnvironment,
    llm: FakeLlm,
    ops_db: Database,
) -> AsyncIterator[Ops]:
    settings = make_settings(
        session_dir,
        temporal_env,
        llm.base_url,
        database_url=ops_db.url,
        temporal_task_queue=f"ops-{uuid.uuid4().hex[:8]}",
    )
    tenant = await make_tenant(ops_db, settings.signing_key())
    app = create_app(settings, temporal_client=temporal_env.client, migrate=False)
    with processes(tmp_path / "processes") as procs:
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield Ops(settings=settings, db=ops_db, http=http, tenant=tenant, procs=procs)


def _polling(line: dict[str, Any]) -> bool:
    return str(line.get("message", "")).startswith("worker polling")


_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][\w:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Samples of the Prometheus text format, with their names as exposed (the Core SDK's
    counters have no ``_total`` suffix, which prometheus_client's parser would add)."""
    samples = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = dict(_LABEL.findall(match["labels"] or ""))
            samples.append((match["name"], labels, float(match["value"])))
    return samples


async def test_worker_metrics_endpoint_serves_sdk_and_job_metrics(ops: Ops) -> None:
    worker = ops.start_worker()
    await worker.wait_for_log(_polling)
    job = await ops.submit(wait_for_completion_ms=20_000)
    assert job["status"] == "DONE"

    port = worker.env["SCRIPE_WORKER_METRICS_PORT"]
    async with httpx.AsyncClient(timeout=5) as http:

        async def scraped() -> str | None:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            return text if "scripe_jobs_finished" in text else None

        samples = _samples(await eventually(scraped))
    names = {name for name, _, _ in samples}
    # The Temporal SDK's own metrics …
    assert {"temporal_workflow_completed", "temporal_activity_execution_latency_count"} <= names
    assert "temporal_worker_task_slots_available" in names
    # … and ours, on the same endpoint.
    finished = [
        (labels, value) for name, labels, value in samples if name == "scripe_jobs_finished"
    ]
    assert finished == [
        (
            {
                "namespace": "default",
                "task_queue": ops.settings.temporal_task_queue,
                "workflow_type": "PostGenerationWorkflow",
                "service_name": "temporal-core-sdk",
                "status": "DONE",
                "error_code": "none",
                "mode": "live",
            },
            1.0,
        )
    ]
    tokens = {
        labels["direction"]: value for name, labels, value in samples if name == "scripe_llm_tokens"
    }
    assert tokens["input"] > 0 and tokens["output"] > 0
    cost = [value for name, _, value in samples if name == "scripe_llm_cost_nanodollars"]
    charges = [
        e for e in await ledger.job_entries(db=ops.db, job_id=job["id"]) if e.kind == "charge"
    ]
    assert cost == [sum(e.amount_nanos for e in charges)] and cost[0] > 0
    calls = [
        labels
        for name, labels, value in samples
        if name == "scripe_llm_request_latency_count" and value == 1
    ]
    assert [(c["model"], c["outcome"]) for c in calls] == [("gpt-4o-mini", "ok")]

    worker.terminate()
    assert await worker.exit_code() == 0


async def test_worker_logs_are_json_lines_with_the_job_id(ops: Ops) -> None:
    worker = ops.start_worker()
    await worker.wait_for_log(_polling)
    job = await ops.submit(wait_for_completion_ms=20_000)
    assert job["status"] == "DONE"
    finished = await worker.wait_for_log(
        lambda line: (
            line.get("job_id") == job["id"] and str(line["message"]).startswith("job finished")
        )
    )
    worker.terminate()
    assert await worker.exit_code() == 0

    lines = worker.log_lines()  # every line parses as JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert finished["workflow_id"] == job["id"] and finished["status"] == "DONE"
    assert finished["level"] == "INFO" and "run_id" in finished
    booked = next(line for line in lines if str(line["message"]).startswith("booked"))
    assert booked["job_id"] == job["id"] and booked["activity_type"] == "generate_post"
    assert booked["attempt"] == 1 and booked["input_tokens"] > 0 and booked["cost_nanos"] > 0
    assert any(line["message"] == "worker shutting down" for line in lines)
    text = worker.log_path.read_text()
    assert ops.tenant.live_key not in text and "sk-test-fake" not in text


async def _exactly_once(ops: Ops, job: dict[str, Any]) -> list[str]:
    """One post and one settlement for the job; returns its ledger entry kinds."""
    assert job["status"] == "DONE"
    assert [p.id for p in await posts.posts_for_job(db=ops.db, job_id=job["id"])] == [
        job["result"]["postId"]
    ]
    return sorted(e.kind for e in await ledger.job_entries(db=ops.db, job_id=job["id"]))


async def test_sigterm_lets_the_in_flight_llm_call_finish_and_loses_nothing(
    ops: Ops, llm: FakeLlm, temporal_env: WorkflowEnvironment
) -> None:
    llm.fake.latency_ms = 1500
    first = ops.start_worker()  # graceful shutdown: 30 s by default
    await first.wait_for_log(_polling)
    job = await ops.submit()
    await eventually(lambda: _provider_called(llm))  # the LLM call is in flight

    first.terminate()
    second = ops.start_worker()
    assert await first.exit_code() == 0
    done = await ops.finished(job["id"])

    # The call the first worker had started was finished and booked, not made again.
    assert len(llm.fake.requests) == 1 and done["attemptCount"] == 1
    assert await _exactly_once(ops, done) == ["charge", "release", "reserve"]
    booked = [line for line in first.log_lines() if str(line["message"]).startswith("booked")]
    assert [line["job_id"] for line in booked] == [job["id"]]
    # The row is DONE when the first worker's activity commits; the workflow's last task
    # (after the first worker stopped polling) is the second worker's.
    outcome = await temporal_env.client.get_workflow_handle(job["id"]).result()
    assert outcome["status"] == "DONE"
    await second.wait_for_log(_polling)  # up (its signal handlers are installed)
    second.terminate()
    assert await second.exit_code() == 0


async def test_sigterm_past_the_graceful_timeout_hands_the_call_back(
    ops: Ops, llm: FakeLlm
) -> None:
    llm.fake.latency_ms = 1500
    first = ops.start_worker(worker_graceful_shutdown_seconds=0)
    await first.wait_for_log(_polling)
    job = await ops.submit()
    await eventually(lambda: _provider_called(llm))

    first.terminate()  # cancels the call at once: the attempt fails and Temporal retries it
    assert await first.exit_code() == 0
    second = ops.start_worker()
    done = await ops.finished(job["id"])

    # The abandoned call was never answered, so never booked: one charge, for the retry.
    assert len(llm.fake.requests) == 2 and done["attemptCount"] == 2
    assert await _exactly_once(ops, done) == ["charge", "release", "reserve"]
    second.terminate()
    assert await second.exit_code() == 0


async def test_sigterm_with_temporal_gone_exits_after_the_bounded_shutdown(
    session_dir: Path,
    tmp_path: Path,
    temporal_env: WorkflowEnvironment,
    llm: FakeLlm,
    ops_db: Database,
) -> None:
    """A worker whose Temporal is gone cannot report what it finished; it stops anyway,
    after its graceful timeout plus the margin, instead of retrying for minutes."""
    settings = make_settings(
        session_dir,
        temporal_env,
        llm.base_url,
        database_url=ops_db.url,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_task_queue=f"ops-{uuid.uuid4().hex[:8]}",
    )
    children = Supervisor(tmp_path / "children")
    try:
        temporal = children.start(
            "temporal", dev_server_command(settings, ui_port=free_port(), db_file=None)
        )
        client = await wait_temporal(settings, watch=[temporal])
        tenant = await make_tenant(ops_db, settings.signing_key())
        app = create_app(settings, temporal_client=client, migrate=False)
        identity = worker_identity()
        env = process_env(
            settings,
            worker_metrics_port=0,
            worker_graceful_shutdown_seconds=1,
            worker_identity=identity,
        )
        worker = children.start("worker", worker_command(), env)
        await wait_worker(client, settings, identity, watch=[worker])
        llm.fake.latency_ms = 1500
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            response = await http.post(
                "/v1/posts/generations",
                json=generation_body(tenant),
                headers=tenant.headers("live"),
            )
            assert response.status_code == 202, response.text
            await eventually(lambda: _provider_called(llm))  # the LLM call is in flight
            temporal.kill9()
            worker.signal(signal.SIGTERM)
            # Without the bound the SDK keeps retrying the report and the wait times out.
            exited = await asyncio.to_thread(worker.wait, 60)
        assert exited, "the worker still runs a minute after SIGTERM"
        assert worker.returncode == EXIT_SHUTDOWN_TIMED_OUT
        assert "did not shut down within 6 s" in worker.log_path.read_text()
    finally:
        children.stop_all()


async def _provider_called(llm: FakeLlm) -> bool:
    return bool(llm.fake.requests)
