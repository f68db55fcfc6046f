"""``python -m devtools.bench [--quick] [--untuned] [--temporal-in-memory]``."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from devtools.bench.embedded import EmbeddedStack, StackOptions
from devtools.bench.plan import FULL, QUICK
from devtools.bench.report import render, write
from devtools.bench.runner import Runner
from devtools.bench.scale_out import scale_out
from devtools.bench.session import allow_bytecode


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke test")
    parser.add_argument(
        "--untuned", action="store_true", help="the dev server without cli/stack.py's settings"
    )
    parser.add_argument(
        "--temporal-in-memory", action="store_true", help="no --db-filename for the dev server"
    )
    parser.add_argument(
        "--no-sandbox", action="store_true", help="SCRIPE_WORKER_WORKFLOW_SANDBOX=false"
    )
    parser.add_argument("--database-url", help="application database (default: SQLite)")
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help="two workers and two API processes (Redis rate limit); use with --database-url",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--section", help="block of the output to replace (default: by flags)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of the run: flame graphs of the worker and the API under load (docs/perf/)",
    )
    parser.add_argument("--profile-tag", default="now", help="file name prefix of the graphs")
    parser.add_argument("--profile-seconds", type=float, default=30.0)
    return parser.parse_args()


def _contention() -> str:
    """Load average, and how much of the last minute runnable tasks waited for a CPU (PSI):
    the two cores are shared, and other processes' load shows up in every latency."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
        waited = dict(field.split("=") for field in some[1:])["avg60"]
    except (OSError, KeyError, IndexError):
        return load
    return f"{load} (CPU pressure {waited}%)"


def _environment(args: argparse.Namespace) -> dict[str, str]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "load at start": _contention(),
        "python": platform.python_version(),
        "dev server": "defaults" if args.untuned else "tuned (cli/stack.py)",
        "Temporal persistence": "in memory" if args.temporal_in_memory else "SQLite file",
        "app database": "PostgreSQL" if args.database_url else "SQLite",
        "workflow sandbox": "off" if args.no_sandbox else "on",
        "plan": "quick" if args.quick else "full",
        "processes": "2 workers, 2 APIs (Redis rate limit)"
        if args.scale_out
        else "1 worker, 1 API",
    }


async def _main(args: argparse.Namespace) -> int:
    if allow_bytecode():
        print("PYTHONDONTWRITEBYTECODE is unset for the stack's processes (see BENCHMARKS.md)")
    if args.profile:
        from devtools.bench.profile import OUT, profile

        print(
            await profile(
                tag=args.profile_tag,
                seconds=args.profile_seconds,
                out=OUT,
                database_url=args.database_url,
                sandbox=not args.no_sandbox,
            )
        )
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="scripe-bench-"))
    environment = _environment(args)
    stack = EmbeddedStack(
        StackOptions(
            workdir=workdir,
            tuned=not args.untuned,
            temporal_on_disk=not args.temporal_in_memory,
            database_url=args.database_url,
            sandbox=not args.no_sandbox,
        )
    )
    print(f"starting the stack (logs in {workdir}) …", flush=True)
    try:
        await stack.start()
        api = await scale_out(stack, args.redis_url) if args.scale_out else None
        plan = QUICK if args.quick else FULL
        results = await Runner(stack, plan, _log, api=api, scaled_out=args.scale_out).run()
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results.environment = environment | {"load at end": _contention()}
    body = render(results)
    print("\n" + body)
    section = args.section or "-".join(
        ["results"]
        + (["untuned"] if args.untuned else [])
        + (["no-sandbox"] if args.no_sandbox else [])
        + (["postgres"] if args.database_url else [])
        + (["scale-out"] if args.scale_out else [])
        + (["temporal-in-memory"] if args.temporal_in_memory else [])
        + (["quick"] if args.quick else [])
    )
    write(args.output, section, body)
    print(f"wrote section '{section}' of {args.output}")
    return 0


def _log(line: str) -> None:
    print(line, flush=True)


def main() -> None:
    # SIGTERM as Ctrl-C: the run unwinds and stops the stack it started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(asyncio.run(_main(_parse())))


if __name__ == "__main__":
    main()
