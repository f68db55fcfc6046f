"""Child processes, one way: how ``scripe run``, the benchmark, the chaos suite and the tests
start the Temporal dev server, the worker and the API, know that *this* process is ready,
and stop it.

* One stop policy (:meth:`Child.stop`): SIGTERM, a bounded grace, then SIGKILL; the child
  is always reaped, so its ports are free when ``stop`` returns.
* Children die with their parent. On Linux each child asks the kernel for SIGKILL when
  the thread that started it goes away (``PR_SET_PDEATHSIG``), so a ``kill -9`` of
  ``scripe run`` (or of a test run) leaves no dev server or worker holding its ports.
  Children get a process group of their own, not a session: Ctrl-C in the terminal reaches
  only the parent, which then stops them in order (API, worker, Temporal).
* Readiness that identifies the process: the worker is ready when the task queue lists a
  poller with the identity given to it (``SCRIPE_WORKER_IDENTITY``), not when any poller
  (perhaps one a stopped worker left behind) shows up; the API when its health check
  answers; Temporal when its health service does.
* One settings → environment function (:func:`settings_env`) for children configured only
  through ``SCRIPE_*`` variables, the way a container is.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from config import Settings
from connections import connect_temporal

DEFAULT_GRACE_SECONDS = 10.0
READY_TIMEOUT_SECONDS = 60.0
_POLL_SECONDS = 0.2

# Loaded before any fork: the child only calls into it (no import, no allocation).
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


class ChildExited(RuntimeError):
    """A child that should be running is not."""


def _die_with_parent() -> Callable[[], None] | None:
    """The ``preexec_fn`` that arms the parent-death signal (Linux only; elsewhere the
    parent's own stop is all there is)."""
    libc = _libc
    if libc is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


@dataclass
class Child:
    """One child process, logging stdout and stderr to ``log_path``.

    ``env`` None inherits ours. Start it from the main thread: the parent-death signal
    fires when the *thread* that started the child ends.
    """

    name: str
    command: list[str]
    env: Mapping[str, str] | None
    log_path: Path
    grace: float = DEFAULT_GRACE_SECONDS  # SIGTERM → SIGKILL
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> Child:
        if self.alive():
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if self.env is None else dict(self.env),
                cwd=self.cwd,
                process_group=0,
                preexec_fn=_die_with_parent(),
            )
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise ChildExited(f"{self.name} exited; see {self.log_path}\n{self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def signal(self, sig: signal.Signals) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(sig)

    def wait(self, timeout: float) -> bool:
        """Whether the child has exited (and was reaped) within ``timeout`` seconds."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill9(self) -> None:
        """kill -9: no cleanup, no graceful shutdown (only our own child, by its pid)."""
        self.signal(signal.SIGKILL)
        self.wait(timeout=30)

    def stop(self, grace: float | None = None) -> int | None:
        """SIGTERM, up to ``grace`` seconds (default: the child's) to exit, then SIGKILL;
        returns the exit status (None if never started)."""
        if self.process is None:
            return None
        if self.alive():
            self.signal(signal.SIGTERM)
            if not self.wait(self.grace if grace is None else grace):
                self.kill9()
        self.process.wait()
        return self.process.returncode


@dataclass
class Supervisor:
    """Named children logging to ``<log_dir>/<name>.log``; stopped newest first."""

    log_dir: Path
    children: dict[str, Child] = field(default_factory=dict)

    def start(
        self,
        name: str,
        command: list[str],
        env: Mapping[str, str] | None = None,
        *,
        grace: float = DEFAULT_GRACE_SECONDS,
    ) -> Child:
        """Start (or restart, after it stopped) the child ``name``."""
        child = self.children.pop(name, None)
        if child is None or child.command != command or child.env != env:
            child = Child(name, command, env, self.log_dir / f"{name}.log", grace=grace)
        self.children[name] = child  # newest last
        return child.start()

    def __getitem__(self, name: str) -> Child:
        return self.children[name]

    def pid(self, name: str) -> int:
        return self.children[name].pid

    def dead(self) -> Child | None:
        return next((c for c in self.children.values() if not c.alive()), None)

    def check_alive(self) -> None:
        for child in self.children.values():
            child.check_alive()

    def stop(self, name: str) -> None:
        self.children[name].stop()

    def retire(self, name: str) -> None:
        """Stop ``name`` for good: it is no longer watched, measured or restarted."""
        self.children.pop(name).stop()

    def stop_all(self) -> None:
        """Newest first: the API (no new jobs), the worker (finishes its work), then the
        servers they use."""
        for child in reversed(list(self.children.values())):
            child.stop()


# --- commands ---------------------------------------------------------------------------------


def worker_command() -> list[str]:
    """``scripe worker``."""
    return [sys.executable, "-m", "cli.main", "worker"]


def api_command() -> list[str]:
    """``scripe api``: uvicorn with the configured host, port, logging and graceful stop."""
    return [sys.executable, "-m", "cli.main", "api"]


def worker_identity(name: str = "worker") -> str:
    """A poller identity no other worker has (given as ``SCRIPE_WORKER_IDENTITY``)."""
    return f"scripe-{name}-{secrets.token_hex(6)}@{socket.gethostname()}"


# --- the environment --------------------------------------------------------------------------


def scripe_env(**settings: object) -> dict[str, str]:
    """Ours without any ``SCRIPE_*`` (a developer's shell must not leak in), then
    ``SCRIPE_<NAME>`` for each setting given (booleans as ``true``/``false``, mappings and
    lists as JSON, secrets revealed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPE_")}
    for name, value in settings.items():
        env[f"SCRIPE_{name.upper()}"] = _env_text(value)
    return env


def settings_env(settings: Settings, **overrides: object) -> dict[str, str]:
    """The environment of a child that must see ``settings`` (the fields that were set,
    not their defaults) with ``overrides`` on top."""
    given = {name: getattr(settings, name) for name in settings.model_fields_set}
    # Settings fills these in from other fields; passed on, they would not follow an
    # override of those (a new API port, another data folder).
    for name, value in _derived(settings).items():
        if given.get(name) == value:
            del given[name]
    values = {k: v for k, v in given.items() if v is not None}
    values.update(overrides)
    return scripe_env(**values)


def _derived(settings: Settings) -> dict[str, Any]:
    """What ``Settings`` derives for its derived fields from the fields that were given."""
    derived = ("public_base_url", "database_url")
    base = {n: getattr(settings, n) for n in settings.model_fields_set if n not in derived}
    fresh = type(settings)(**base)
    return {name: getattr(fresh, name) for name in derived}


def _env_text(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        from pydantic_core import to_json

        return to_json(value).decode()
    return str(value)


# --- ports and readiness ----------------------------------------------------------------------


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _check(watch: Iterable[Child]) -> None:
    for child in watch:
        child.check_alive()


async def wait_temporal(
    settings: Settings, *, watch: Iterable[Child] = (), timeout: float = READY_TIMEOUT_SECONDS
) -> Client:
    """A client of the Temporal at ``settings`` once its health service answers."""
    watched = list(watch)
    deadline = time.monotonic() + timeout
    while True:
        _check(watched)
        try:
            client = await connect_temporal(settings)
            await client.service_client.check_health(timeout=timedelta(seconds=2))
            return client
        except Exception as err:  # not up yet
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Temporal did not start at {settings.temporal_address}"
                ) from err
            await asyncio.sleep(_POLL_SECONDS)


async def worker_polling(client: Client, settings: Settings, identity: str) -> bool:
    """Whether the worker ``identity`` polls both the workflow and the activity queue."""
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=settings.temporal_namespace,
                task_queue=TaskQueue(name=settings.temporal_task_queue),
                task_queue_type=kind,
            )
        )
        if not any(poller.identity == identity for poller in described.pollers):
            return False
    return True


async def wait_worker(
    client: Client,
    settings: Settings,
    identity: str,
    *,
    watch: Iterable[Child] = (),
    timeout: float = READY_TIMEOUT_SECONDS,
) -> None:
    """Until the worker started with ``SCRIPE_WORKER_IDENTITY=identity`` polls."""
    watched = list(watch)
    deadline = time.monotonic() + timeout
    while not await worker_polling(client, settings, identity):
        _check(watched)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker {identity} did not start polling")
        await asyncio.sleep(_POLL_SECONDS)


async def wait_http(
    url: str, *, watch: Iterable[Child] = (), timeout: float = READY_TIMEOUT_SECONDS
) -> None:
    """Until ``url`` answers 200 (an API's ``/v1/health``, the fake LLM's models)."""
    watched = list(watch)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2, trust_env=False) as http:
        while True:
            _check(watched)
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer")
            await asyncio.sleep(_POLL_SECONDS)
