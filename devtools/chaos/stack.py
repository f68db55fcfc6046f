"""The embedded stack as separate processes the chaos suite can kill, stop and restart.

Temporal dev server (persistent ``--db-filename``), the worker (``python -m worker``), the API
(uvicorn, ``api.main:create_app``) and the fake OpenAI server, each a child process in a
session of its own, configured only through ``SCRIPE_*`` variables, on non-default ports.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO

import httpx
from temporalio.client import Client

from cli.stack import dev_server_command
from config import Settings
from connections import connect_temporal
from db.engine import Database
from db.migrate import upgrade
from devtools.child_env import scripe_env

SECRET = "chaos-secret-key-not-for-production"
TASK_QUEUE = "scripe-chaos"


@dataclass(frozen=True)
class Ports:
    temporal: int = 47233
    ui: int = 48233
    api: int = 48000
    llm: int = 48765

    def shifted(self, offset: int) -> Ports:
        return Ports(self.temporal + offset, self.ui + offset, self.api + offset, self.llm + offset)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(sig)

    def kill9(self) -> None:
        """kill -9: no cleanup, no graceful shutdown (only our own child, by its pid)."""
        self.signal(signal.SIGKILL)
        self.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            self.signal(signal.SIGTERM)
            if not self.wait(timeout):
                self.kill9()
        if self._log is not None:
            self._log.close()
            self._log = None

    def wait(self, timeout: float) -> bool:
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False


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
        self.env = self._environment()
        # What the children will read from their environment, read the same way here.
        ours = {k[7:].lower(): v for k, v in self.env.items() if k.startswith("SCRIPE_")}
        self.settings = Settings(**ours)  # type: ignore[arg-type]
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
            "worker": self._child("worker", [python, "-m", "worker"]),
            "api": self._child("api", self.api_command(self.ports.api)),
        }

    def api_command(self, port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--no-server-header",
        ]

    def _environment(self) -> dict[str, str]:
        env = scripe_env(
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
        )
        env.update(self.extra_env)
        return env

    def _child(self, name: str, command: list[str]) -> Child:
        return Child(name, command, self.env, self.root / "logs" / f"{name}.log")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def llm_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.llm}"

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        busy = [
            p
            for p in (self.ports.temporal, self.ports.ui, self.ports.api, self.ports.llm)
            if not port_free(p)
        ]
        if busy:
            raise RuntimeError(f"ports in use: {busy} (choose others with --port-offset)")
        self.children["temporal"].start()
        self.children["llm"].start()
        await self.wait_temporal()
        await upgrade(self.settings.database_url)
        self.children["worker"].start()
        self.children["api"].start()
        await asyncio.gather(self.wait_worker_polling(), self.wait_api(), self.wait_llm())

    def stop(self) -> None:
        for name in ("api", "worker", "llm", "temporal"):
            self.children[name].stop()

    async def restart_worker(self) -> None:
        self.children["worker"].start()
        await self.wait_worker_polling()

    async def restart_temporal(self) -> None:
        self.children["temporal"].start()
        await self.wait_temporal()

    # --- readiness ----------------------------------------------------------------------

    async def temporal_client(self) -> Client:
        return await connect_temporal(self.settings)

    async def wait_temporal(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive("temporal")
            try:
                client = await connect_temporal(self.settings)
                await client.service_client.check_health(timeout=timedelta(seconds=1))
                return
            except Exception as err:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise RuntimeError("Temporal did not start") from err
                await asyncio.sleep(0.2)

    async def wait_worker_polling(self, timeout: float = 60) -> None:
        """Until the worker process has started polling (its log says so)."""
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        client = await self.temporal_client()
        worker = self.children["worker"]
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive("worker")
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.settings.temporal_namespace,
                    task_queue=TaskQueue(name=TASK_QUEUE),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
                )
            )
            identities = {p.identity for p in described.pollers}
            if any(identity.startswith(f"{worker.pid}@") for identity in identities):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not start polling")
            await asyncio.sleep(0.2)

    async def wait_api(self, timeout: float = 60) -> None:
        await self.wait_http(f"{self.api_url}/v1/health", self.children["api"], timeout)

    async def wait_llm(self, timeout: float = 30) -> None:
        await self.wait_http(f"{self.llm_url}/v1/models", self.children["llm"], timeout)

    async def wait_http(self, url: str, child: Child, timeout: float = 60) -> None:
        name = child.name
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if not child.alive():
                    raise RuntimeError(f"{name} exited; see {child.log_path}")
                try:
                    if (await http.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not become ready")
                await asyncio.sleep(0.2)

    def _check_alive(self, name: str) -> None:
        child = self.children[name]
        if not child.alive():
            raise RuntimeError(f"{name} exited; see {child.log_path}")

    def database(self, **kw: object) -> Database:
        return Database(self.settings.database_url, **kw)  # type: ignore[arg-type]
