"""The stack's processes: start, wait for, measure (CPU, peak RSS) and stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/PID/stat)."""
    # The command name (field 2) may contain spaces; the fields after it are positional.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Processes:
    """Child processes by name, each logging to ``<log_dir>/<name>.log``."""

    log_dir: Path
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def spawn(self, name: str, command: list[str], env: dict[str, str]) -> int:
        log = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(log)
        # A session of its own: Ctrl-C on the bench reaches only the bench, which stops
        # the children itself.
        self.children[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        return self.children[name].pid

    def pid(self, name: str) -> int:
        return self.children[name].pid

    def check_alive(self) -> None:
        for name, process in self.children.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.log_dir / (name + '.log')}")

    def stop(self, name: str, timeout: float = 15.0) -> None:
        process = self.children.pop(name)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        """Newest first: the API, then the worker, then the servers they use."""
        for name in reversed(list(self.children)):
            self.stop(name)
        for log in self._logs:
            log.close()


class CpuMeter:
    """Per-process CPU over a stretch of wall time, as a percentage of one core."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._start = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self._began = time.perf_counter()

    def read(self) -> dict[str, float]:
        wall = time.perf_counter() - self._began
        return {
            name: 100 * (cpu_seconds(pid) - self._start[name]) / wall
            for name, pid in self._pids.items()
        }
