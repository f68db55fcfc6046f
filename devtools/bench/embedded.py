"""The stack under test, started the way ``scripe run`` starts it, on free ports."""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from cli.stack import dev_server_command
from cli.supervisor import (
    Supervisor,
    api_command,
    settings_env,
    wait_http,
    wait_temporal,
    wait_worker,
    worker_command,
    worker_identity,
)
from config import Settings
from devtools.bench.http import HttpClient
from devtools.bench.seed import BENCH_RATE_LIMIT_PER_MINUTE, seed
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
        self.processes = Supervisor(log_dir=options.workdir)
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
            webhook_allow_private=True,  # (e) delivers to a receiver on loopback
        )
        self.tenant: Tenant | None = None
        self.client: Client | None = None
        self.llm = "fast"
        self.worker_identity = ""

    def _llm_url(self, which: str) -> str:
        return f"http://127.0.0.1:{self.llm_ports[which]}/v1"

    def _env(self, **overrides: object) -> dict[str, str]:
        """The children's environment: ours without SCRIPE_*, then the bench's settings."""
        return settings_env(
            self.settings,
            openai_base_url=self._llm_url(self.llm),
            worker_workflow_sandbox=self.options.sandbox,
            **overrides,
        )

    async def start(self) -> None:
        db_file = self.options.workdir / "temporal.db" if self.options.temporal_on_disk else None
        command = dev_server_command(
            self.settings, ui_port=free_port(), db_file=db_file, tuned=self.options.tuned
        )
        temporal = self.processes.start("temporal", command, self._env())
        await wait_temporal(self.settings, watch=[temporal], timeout=READY_TIMEOUT_SECONDS)
        # The SDK's default data converter, as the measurements have always used.
        self.client = await Client.connect(self.settings.temporal_address)
        self.tenant = await seed(self.settings)
        for which, latency in (("fast", 0), ("slow", self.options.slow_llm_ms)):
            self.processes.start(
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
        self._start_worker()
        self.processes.start("api", api_command(), self._env())
        await self._wait_ready()

    async def use_llm(self, which: str) -> None:
        """Restart the worker against the instant or the slow fake LLM."""
        self.llm = which
        self.processes.stop("worker")
        self._start_worker()
        await self._wait_ready()

    def _start_worker(self) -> None:
        self.worker_identity = worker_identity()
        env = self._env(worker_identity=self.worker_identity)
        grace = self.settings.worker_graceful_shutdown_seconds + 5
        self.processes.start("worker", worker_command(), env, grace=grace)

    def api(self) -> HttpClient:
        assert self.tenant is not None
        return HttpClient(
            self.settings.api_host,
            self.settings.api_port,
            headers=self.tenant.headers("live"),
        )

    async def _wait_ready(self) -> None:
        """Until *this* worker polls the task queue and the API answers its health check."""
        assert self.client is not None
        watch = list(self.processes.children.values())
        await wait_worker(
            self.client,
            self.settings,
            self.worker_identity,
            watch=watch,
            timeout=READY_TIMEOUT_SECONDS,
        )
        await wait_http(
            f"{self.settings.public_base_url}/v1/health", watch=watch, timeout=READY_TIMEOUT_SECONDS
        )

    def stop(self) -> None:
        self.processes.stop_all()
