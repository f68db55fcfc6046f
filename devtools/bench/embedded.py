"""The stack under test, started the way ``scripe run`` starts it, on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from cli.stack import api_command, dev_server_command, worker_command
from config import Settings
from devtools.bench.http import HttpClient
from devtools.bench.procs import Processes
from devtools.bench.seed import BENCH_RATE_LIMIT_PER_MINUTE, seed
from devtools.child_env import scripe_env
from devtools.serving import free_port
from devtools.tenants import Tenant

READY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class StackOptions:
    workdir: Path
    tuned: bool = True  # the dev-server settings of cli/stack.py, or the server's defaults
    temporal_on_disk: bool = True  # SQLite file as `scripe run` uses it, or in memory
    database_url: str | None = None  # the application database; default SQLite in workdir
    slow_llm_ms: int = 2000
    sandbox: bool = True  # SCRIPE_WORKER_WORKFLOW_SANDBOX


class EmbeddedStack:
    """Temporal dev server, two fake LLMs (instant and slow), the worker and the API."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.processes = Processes(log_dir=options.workdir)
        self.llm_ports = {"fast": free_port(), "slow": free_port()}
        self.settings = Settings(
            data_dir=options.workdir,
            database_url=options.database_url
            or f"sqlite+aiosqlite:///{options.workdir / 'scripe.db'}",
            secret_key=secrets.token_urlsafe(32),
            temporal_address=f"127.0.0.1:{free_port()}",
            api_host="127.0.0.1",
            api_port=free_port(),
            openai_api_key="sk-bench-fake",
            openai_base_url=self._llm_url("fast"),
            rate_limit_per_minute=BENCH_RATE_LIMIT_PER_MINUTE,
            worker_metrics_port=free_port(),
        )
        self.tenant: Tenant | None = None
        self.client: Client | None = None
        self.llm = "fast"

    def _llm_url(self, which: str) -> str:
        return f"http://127.0.0.1:{self.llm_ports[which]}/v1"

    def _env(self) -> dict[str, str]:
        """The children's environment: ours without SCRIPE_*, then the bench's settings."""
        s = self.settings
        assert s.secret_key is not None and s.openai_api_key is not None
        return scripe_env(
            data_dir=s.data_dir,
            database_url=s.database_url,
            secret_key=s.secret_key.get_secret_value(),
            temporal_address=s.temporal_address,
            api_host=s.api_host,
            api_port=s.api_port,
            openai_api_key=s.openai_api_key.get_secret_value(),
            openai_base_url=self._llm_url(self.llm),
            rate_limit_per_minute=s.rate_limit_per_minute,
            worker_metrics_port=s.worker_metrics_port,
            worker_workflow_sandbox=self.options.sandbox,
        )

    async def start(self) -> None:
        db_file = self.options.workdir / "temporal.db" if self.options.temporal_on_disk else None
        command = dev_server_command(
            self.settings, ui_port=free_port(), db_file=db_file, tuned=self.options.tuned
        )
        self.processes.spawn("temporal", command, self._env())
        self.client = await self._connect_temporal()
        self.tenant = await seed(self.settings)
        for which, latency in (("fast", 0), ("slow", self.options.slow_llm_ms)):
            self.processes.spawn(
                f"llm-{which}",
                [
                    sys.executable,
                    "-m",
                    "devtools.fake_openai",
                    "--port",
                    str(self.llm_ports[which]),
                    "--latency-ms",
                    str(latency),
                ],
                self._env(),
            )
        self.processes.spawn("worker", worker_command(), self._env())
        self.processes.spawn("api", api_command(), self._env())
        await self._wait_ready()

    async def use_llm(self, which: str) -> None:
        """Restart the worker against the instant or the slow fake LLM."""
        self.llm = which
        self.processes.stop("worker")
        self.processes.spawn("worker", worker_command(), self._env())
        await self._wait_ready()

    def api(self) -> HttpClient:
        assert self.tenant is not None
        return HttpClient(
            self.settings.api_host,
            self.settings.api_port,
            headers=self.tenant.headers("live"),
        )

    async def _connect_temporal(self) -> Client:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            self.processes.check_alive()
            try:
                client = await Client.connect(self.settings.temporal_address)
                await client.service_client.check_health(timeout=timedelta(seconds=2))
                return client
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def _wait_ready(self) -> None:
        """Until the worker polls the task queue and the API answers its health check."""
        assert self.client is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        http = HttpClient(self.settings.api_host, self.settings.api_port, headers={})
        try:
            while time.monotonic() < deadline:
                self.processes.check_alive()
                described = await self.client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace=self.settings.temporal_namespace,
                        task_queue=TaskQueue(name=self.settings.temporal_task_queue),
                        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                    )
                )
                # The SDK's default identity is "<pid>@<host>": wait for *this* worker,
                # not the pollers a stopped one left in the task queue's recent list.
                worker = f"{self.processes.pid('worker')}@"
                polling = any(p.identity.startswith(worker) for p in described.pollers)
                healthy = False
                with contextlib.suppress(OSError):
                    healthy = (await http.request("GET", "/v1/health")).status == 200
                if polling and healthy:
                    return
                await asyncio.sleep(0.2)
        finally:
            await http.close()
        raise RuntimeError(f"the stack was not ready in time; logs in {self.options.workdir}")

    def stop(self) -> None:
        self.processes.stop_all()
