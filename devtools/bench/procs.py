"""Measuring the stack's processes (CPU, peak RSS); cli/supervisor.py starts and stops them."""

from __future__ import annotations

import os
import time
from pathlib import Path

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
