"""A stack for the short bench commands (counts, profiles): the bench's own stack, with the
worker and the API restarted under a different command line (the counter wrapper, or a
profiler) when asked. Uses :class:`EmbeddedStack` as it is: same processes, same names."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from devtools.bench.embedded import EmbeddedStack, StackOptions
from devtools.bench.stats import Samples

WRAPPED = ("worker", "api")
# Set in some shells and CI images: then no module's bytecode is ever cached, and the
# workflow sandbox compiles the workflow's modules from source for every new workflow
# instance (7 % of the worker's busy CPU in the "before" profile). A fresh clone's
# `make run` does not have it, and the Docker image's modules are compiled at install.
NO_BYTECODE = "PYTHONDONTWRITEBYTECODE"


def allow_bytecode() -> bool:
    """Let the stack's processes (which inherit our environment) cache bytecode, as a new
    user's stack does; True if the variable was set."""
    return os.environ.pop(NO_BYTECODE, None) is not None


@asynccontextmanager
async def bench_stack(
    *, database_url: str | None, sandbox: bool, instrumented: bool, keep: bool = False
) -> AsyncIterator[EmbeddedStack]:
    """Start the stack; with ``instrumented``, the worker and the API run under
    ``devtools.bench.instrument`` and write their counts to ``<workdir>/<name>.counts``."""
    allow_bytecode()
    workdir = Path(tempfile.mkdtemp(prefix="scripe-bench-"))
    stack = EmbeddedStack(StackOptions(workdir=workdir, database_url=database_url, sandbox=sandbox))
    print(f"starting the stack (logs in {workdir}) …", flush=True)
    try:
        await stack.start()
        if instrumented:
            for name in WRAPPED:
                stack.processes.stop(name)
                env = stack._env() | {  # noqa: SLF001 - the children's environment, as is
                    "SCRIPE_BENCH_COUNTS_FILE": str(counts_file(stack, name))
                }
                command = [sys.executable, "-m", "devtools.bench.instrument", name]
                stack.processes.start(name, command, env)
            await stack._wait_ready()  # noqa: SLF001
        yield stack
    finally:
        stack.stop()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def counts_file(stack: EmbeddedStack, name: str) -> Path:
    return stack.options.workdir / f"{name}.counts"


async def timed_loop(
    operation: Callable[[], Awaitable[None]], *, seconds: float, concurrency: int
) -> Samples:
    """``concurrency`` clients, each starting the next operation when one ends, for
    ``seconds`` (the operations in flight at the end still finish)."""
    samples = Samples()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await operation()
            except Exception:  # noqa: BLE001 - counted
                samples.errors += 1
                continue
            samples.latencies_ms.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    samples.wall_seconds = time.perf_counter() - began
    return samples


def py_spy() -> str:
    """The py-spy executable next to this Python (the dev extras install it)."""
    candidate = Path(sys.executable).parent / "py-spy"
    found = str(candidate) if candidate.exists() else shutil.which("py-spy")
    if found is None:
        raise FileNotFoundError("py-spy not found: pip install -e '.[dev]'")
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent outside idle and iowait so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
