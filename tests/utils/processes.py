"""Running ``scripe api`` / ``scripe worker`` as real processes, configured only through
``SCRIPE_`` environment variables, the way a container runs them (cli/supervisor.py starts
and stops them, as it does for ``scripe run``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.supervisor import Child, settings_env
from config import Settings
from tests.utils.waiting import eventually

LogLine = dict[str, Any]


def process_env(settings: Settings, **overrides: object) -> dict[str, str]:
    """The environment of a process that must see ``settings`` (plus ``overrides``),
    logging JSON lines."""
    values: dict[str, object] = {
        "secret_key": settings.signing_key().decode(),
        "log_format": "json",
        "log_level": "INFO",
    }
    values.update(overrides)
    return settings_env(settings, **values)


@dataclass
class Process:
    child: Child

    @property
    def name(self) -> str:
        return self.child.name

    @property
    def log_path(self) -> Path:
        return self.child.log_path

    @property
    def env(self) -> dict[str, str]:
        assert self.child.env is not None
        return dict(self.child.env)

    def alive(self) -> bool:
        return self.child.alive()

    def log_lines(self) -> list[LogLine]:
        """Every line the process wrote to stderr, each parsed as JSON (fails otherwise)."""
        text = self.log_path.read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    async def wait_for_log(
        self, matches: Callable[[LogLine], bool], timeout: float = 30
    ) -> LogLine:
        async def found() -> LogLine | None:
            self.child.check_alive()  # an exited process fails the wait at once
            return next((line for line in self.log_lines() if matches(line)), None)

        return await eventually(found, timeout=timeout, interval=0.1)

    def terminate(self) -> None:
        """What an orchestrator does to stop a container: SIGTERM."""
        self.child.signal(signal.SIGTERM)

    async def exit_code(self, timeout: float = 60) -> int:
        if not await asyncio.to_thread(self.child.wait, timeout):
            raise AssertionError(f"{self.name} still runs after {timeout} s")
        code = self.child.returncode
        assert code is not None
        return code


@dataclass
class Processes:
    """Starts processes and, at the end of the test, stops those still running."""

    log_dir: Path
    started: list[Process] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> Process:
        """``command`` (e.g. ``worker_command()``: ``scripe worker``) with ``env``, in the
        log folder (not the source tree)."""
        log_path = self.log_dir / f"{name}-{len(self.started)}.log"
        child = Child(name, command, env, log_path, grace=5, cwd=self.log_dir).start()
        process = Process(child)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.child.stop()


@contextlib.contextmanager
def processes(log_dir: Path) -> Iterator[Processes]:
    log_dir.mkdir(parents=True, exist_ok=True)
    started = Processes(log_dir)
    try:
        yield started
    finally:
        started.stop_all()
