"""``python3 dev.py bench --profile [--profile-tag TAG]``: flame graphs of the worker and
the API under the 16-client loop, and of the API under 50 back-to-back GET pollers.

Writes ``docs/perf/<tag>-worker.svg``, ``<tag>-api.svg`` (both during the loop of POSTs
with ``wait_for_completion_ms``) and ``<tag>-api-get.svg`` (during the GETs), sampled by
py-spy (``--nonblocking``: the process is not paused to be read), and prints each
process's CPU per job and the API's CPU per GET. The dev server is a stripped Go binary
with no profiling endpoint, so ``perf`` sees only addresses in it; its share comes from
``/proc`` (see BENCHMARKS.md). Under other load the flame graphs' shares stay valid; the
absolute CPU figures do not.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from devtools.bench.api_load import ApiDriver
from devtools.bench.procs import CpuMeter
from devtools.bench.session import bench_stack, py_spy, timed_loop

OUT = Path("docs/perf")
CLIENTS = 16
POLLERS = 50


async def _record(pid: int, seconds: float, output: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        py_spy(),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        "100",
        "--nonblocking",
        "--format",
        "flamegraph",
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def _without_local_paths(graph: Path) -> None:
    """py-spy writes its own command line, with this machine's path to it, as the title."""
    if graph.exists():
        graph.write_text(graph.read_text().replace(py_spy(), "py-spy"))


async def profile(
    *, tag: str, seconds: float, out: Path, database_url: str | None, sandbox: bool
) -> str:
    out.mkdir(parents=True, exist_ok=True)
    async with bench_stack(database_url=database_url, sandbox=sandbox, instrumented=False) as stack:
        assert stack.tenant is not None
        driver = ApiDriver(stack.api(), stack.tenant.project_id)
        await driver.post_and_wait(total=2 * CLIENTS, concurrency=CLIENTS, wait_ms=5000)
        await driver.drained()
        pids = {n: stack.processes.pid(n) for n in ("temporal", "worker", "api", "llm-fast")}

        meter = CpuMeter(pids)
        spies = [
            await _record(pids[name], seconds, out / f"{tag}-{name}.svg")
            for name in ("worker", "api")
        ]
        done = await timed_loop(driver.done_within(5000), seconds=seconds, concurrency=CLIENTS)
        cpu = meter.read()
        for spy in spies:
            await spy.wait()
        await driver.drained()

        get_meter = CpuMeter({"api": pids["api"]})
        spy = await _record(pids["api"], seconds, out / f"{tag}-api-get.svg")
        polled = await driver.pollers(pollers=POLLERS, seconds=seconds)
        get_cpu = get_meter.read()["api"]
        await spy.wait()
    for name in ("worker", "api", "api-get"):
        _without_local_paths(out / f"{tag}-{name}.svg")
    per_job = {
        n: pct / 100 * done.wall_seconds * 1000 / max(1, done.count) for n, pct in cpu.items()
    }
    lines = [
        f"16-client loop: {done.count} jobs DONE in {done.wall_seconds:.0f} s "
        f"({done.rate:.1f}/s, {done.errors} not DONE), p50 {done.p50:.0f} ms",
        "CPU per job: "
        + ", ".join(f"{n} {ms:.1f} ms" for n, ms in per_job.items())
        + f"; together {sum(per_job.values()):.1f} ms",
        f"50 GET pollers back to back: {polled.rate:.0f}/s, API CPU {get_cpu:.0f}% of a core, "
        f"{get_cpu / 100 * 1000 / polled.rate:.2f} ms per GET",
        "flame graphs: "
        + ", ".join(str(out / f"{tag}-{n}.svg") for n in ("worker", "api", "api-get")),
    ]
    return "\n".join(lines)
