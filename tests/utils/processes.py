"""Running ``scripe api`` / ``scripe worker`` as real processes, configured only through
``SCRIPE_`` environment variables, the way a container runs them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import Settings
from devtools.child_env import scripe_env
from tests.utils.waiting import eventually

LogLine = dict[str, Any]


def process_env(settings: Settings, **overrides: object) -> dict[str, str]:
    """The environment of a process that must see ``settings`` (plus ``overrides``)."""
    values: dict[str, object] = {
        "data_dir": settings.data_dir,
        "database_url": settings.database_url,
        "secret_key": settings.signing_key().decode(),
        "temporal_address": settings.temporal_address,
        "temporal_namespace": settings.temporal_namespace,
        "temporal_task_queue": settings.temporal_task_queue,
        "openai_base_url": settings.openai_base_url or "",
        "url_fetch_allow_private": settings.url_fetch_allow_private,
        "log_format": "json",
        "log_level": "INFO",
    }
    if settings.openai_api_key is not None:
        values["openai_api_key"] = settings.openai_api_key.get_secret_value()
    values.update(overrides)
    return scripe_env(**values)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]

    def log_lines(self) -> list[LogLine]:
        """Every line the process wrote to stderr, each parsed as JSON (fails otherwise)."""
        text = self.log_path.read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    async def wait_for_log(
        self, matches: Callable[[LogLine], bool], timeout: float = 30
    ) -> LogLine:
        async def found() -> LogLine | None:
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
            return next((line for line in self.log_lines() if matches(line)), None)

        return await eventually(found, timeout=timeout, interval=0.1)

    def terminate(self) -> None:
        """What an orchestrator does to stop a container: SIGTERM."""
        self.popen.send_signal(signal.SIGTERM)

    async def exit_code(self, timeout: float = 60) -> int:
        return await asyncio.to_thread(self.popen.wait, timeout)


@dataclass
class Processes:
    """Starts processes and, at the end of the test, kills those still running."""

    log_dir: Path
    started: list[Process] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        log_path = self.log_dir / f"{name}-{len(self.started)}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [sys.executable, *argv],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.log_dir,
            )
        process = Process(name=name, popen=popen, log_path=log_path, env=env)
        self.started.append(process)
        return process

    def kill_all(self) -> None:
        for process in self.started:
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()


@contextlib.contextmanager
def processes(log_dir: Path) -> Iterator[Processes]:
    log_dir.mkdir(parents=True, exist_ok=True)
    started = Processes(log_dir)
    try:
        yield started
    finally:
        started.kill_all()
