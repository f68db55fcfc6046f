"""The embedded stack as separate processes the chaos suite can kill, stop and restart.

Temporal dev server (persistent ``--db-filename``), the worker (``scripe worker``), the API
(``scripe api``) and the fake OpenAI server, each a child process (cli/supervisor.py, as for
``scripe run``), configured only through ``SCRIPE_*`` variables, on non-default ports.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from cli.stack import dev_server_command
from cli.supervisor import (
    Child,
    api_command,
    port_free,
    settings_env,
    wait_http,
    wait_temporal,
    wait_worker,
    worker_command,
    worker_identity,
)
from config import Settings
from connections import connect_temporal
from db.engine import Database
from db.migrate import upgrade

__all__ = ["ChaosStack", "Child", "Ports"]

SECRET = "chaos-secret-key-not-for-production"
TASK_QUEUE = "scripe-chaos"
GRACE_SECONDS = 20.0  # SIGTERM → SIGKILL; the worker's graceful shutdown is 5 s


@dataclass(frozen=True)
class Ports:
    # Below Linux's ephemeral range (32768–60999): a port the kernel hands out to an
    # outgoing connection can never be one the next scenario's stack needs.
    temporal: int = 27233
    ui: int = 28233
    api: int = 28000
    llm: int = 28765

    def shifted(self, offset: int) -> Ports:
        return Ports(self.temporal + offset, self.ui + offset, self.api + offset, self.llm + offset)


@dataclass
class ChaosStack:
    """Owns the data folder and the four children; ``settings`` is what the children read."""

    root: Path
    ports: Ports
    llm_latency_ms: float = 0.0
    database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    children: dict[str, Child] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        # What the children read from their environment.
        self.settings = Settings(
            data_dir=self.root,
            database_url=self.database_url or f"sqlite+aiosqlite:///{self.root / 'scripe.db'}",
            secret_key=SECRET,
            temporal_address=f"127.0.0.1:{self.ports.temporal}",
            temporal_task_queue=TASK_QUEUE,
            api_host="127.0.0.1",
            api_port=self.ports.api,
            openai_api_key="sk-chaos-fake",
            openai_base_url=f"http://127.0.0.1:{self.ports.llm}/v1",
            llm_timeout_seconds=3,
            key_cache_seconds=2,
            rate_limit_per_minute=100000,
            log_format="text",
            log_level="WARNING",
            worker_metrics_port=0,
            worker_graceful_shutdown_seconds=5,
            # The webhook scenario: a receiver on loopback, short attempts, and a backoff
            # capped so an outage of minutes ends in bounded time (default: 6 h).
            webhook_allow_private=True,
            webhook_timeout_seconds=3,
            webhook_max_backoff_seconds=15,
        )
        self.env = {**settings_env(self.settings), **self.extra_env}
        self.worker_identity = ""
        python = sys.executable
        self.children = {
            "temporal": self._child(
                "temporal",
                dev_server_command(
                    self.settings, ui_port=self.ports.ui, db_file=self.root / "temporal.db"
                ),
            ),
            "llm": self._child(
                "llm",
                [
                    python,
                    "-m",
                    "devtools.fake_openai",
                    "--port",
                    str(self.ports.llm),
                    "--latency-ms",
                    str(self.llm_latency_ms),
                ],
            ),
            "worker": self._child("worker", worker_command()),
            "api": self._child("api", api_command()),
        }

    def api_command(self, port: int) -> list[str]:
        """``scripe api``; its port comes from ``SCRIPE_API_PORT`` in the child's env."""
        del port
        return api_command()

    def _child(self, name: str, command: list[str]) -> Child:
        return Child(name, command, self.env, self.root / "logs" / f"{name}.log", GRACE_SECONDS)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def llm_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.llm}"

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        ports = (self.ports.temporal, self.ports.ui, self.ports.api, self.ports.llm)
        busy = [p for p in ports if not port_free("127.0.0.1", p)]
        if busy:
            raise RuntimeError(f"ports in use: {busy} (choose others with --port-offset)")
        self.children["temporal"].start()
        self.children["llm"].start()
        await self.wait_temporal()
        await upgrade(self.settings.database_url)
        self._start_worker()
        self.children["api"].start()
        await asyncio.gather(self.wait_worker_polling(), self.wait_api(), self.wait_llm())

    def stop(self) -> None:
        for name in ("api", "worker", "llm", "temporal"):
            self.children[name].stop()

    async def restart_worker(self) -> None:
        self._start_worker()
        await self.wait_worker_polling()

    def _start_worker(self) -> None:
        """A worker polling with an identity of its own, so readiness means *this* one."""
        self.worker_identity = worker_identity("chaos-worker")
        worker = self.children["worker"]
        worker.env = {**self.env, "SCRIPE_WORKER_IDENTITY": self.worker_identity}
        worker.start()

    async def restart_temporal(self) -> None:
        self.children["temporal"].start()
        await self.wait_temporal()

    # --- readiness ----------------------------------------------------------------------

    async def temporal_client(self) -> Client:
        return await connect_temporal(self.settings)

    async def wait_temporal(self, timeout: float = 60) -> None:
        await wait_temporal(self.settings, watch=[self.children["temporal"]], timeout=timeout)

    async def wait_worker_polling(self, timeout: float = 60) -> None:
        """Until the worker last started polls (its own identity, not a stale poller)."""
        client = await self.temporal_client()
        watch = [self.children["worker"]]
        await wait_worker(client, self.settings, self.worker_identity, watch=watch, timeout=timeout)

    async def wait_api(self, timeout: float = 60) -> None:
        await self.wait_http(f"{self.api_url}/v1/health", self.children["api"], timeout)

    async def wait_llm(self, timeout: float = 30) -> None:
        await self.wait_http(f"{self.llm_url}/v1/models", self.children["llm"], timeout)

    async def wait_http(self, url: str, child: Child, timeout: float = 60) -> None:
        await wait_http(url, watch=[child], timeout=timeout)

    def database(self, **kw: object) -> Database:
        return Database(self.settings.database_url, **kw)  # type: ignore[arg-type]
