"""Run the reliability suite against a freshly started embedded stack.

    python -m devtools.chaos            full form (the figures in RELIABILITY.md)
    python -m devtools.chaos --short    the CI form (a few minutes on 2 cores)
    python -m devtools.chaos --only worker_kill,llm_faults

Everything runs on this machine: the Temporal dev server, the worker, the API and the fake
OpenAI server are child processes on non-default ports (27233, 28233, 28000, 28765; shift
them with --port-offset). Exit status 0 only if every scenario passed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx

from devtools.chaos.context import Context
from devtools.chaos.report import Result, markdown_table, write_json
from devtools.chaos.scenarios import (
    access,
    dependencies,
    hostile,
    lifecycle,
    load,
    money,
    postgres,
    processes,
    webhooks,
)
from devtools.chaos.stack import ChaosStack, Ports

Scenario = Callable[[Context], Awaitable[Result]]
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

SCENARIOS: dict[str, Scenario] = {
    "llm_faults": dependencies.llm_faults,
    "worker_kill": processes.worker_kill,
    "temporal_restart": processes.temporal_restart,
    "sqlite_locked": dependencies.sqlite_locked,
    "postgres_outage": postgres.postgres_outage,
    "hostile_input": hostile.hostile_input,
    "key_timing": access.key_timing,
    "terminate_mid_call": lifecycle.terminate_mid_call,
    "cancel_running": lifecycle.cancel_running,
    "long_db_outage": money.long_db_outage,
    "expensive_model": money.expensive_model,
    "webhook_outage": webhooks.webhook_outage,
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.chaos", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--short", action="store_true", help="the CI form: fewer jobs, shorter")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {list(SCENARIOS)}")
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="the application database of the stack (postgres: a fresh database on "
        "127.0.0.1:5432, dropped afterwards)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--json", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--markdown", type=Path, default=None, help="write the results table")
    parser.add_argument(
        "--load-seconds", type=float, default=None, help="load duration (600; --short: 45)"
    )
    parser.add_argument("--load-rate", type=float, default=5.0, help="jobs per second")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> list[Result]:
    seconds = args.load_seconds or (45.0 if args.short else 600.0)

    async def mixed_load(ctx: Context) -> Result:
        return await load.mixed_load(ctx, seconds=seconds, rate=args.load_rate)

    SCENARIOS["load"] = mixed_load
    names = [n for n in args.only.split(",") if n] or list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {sorted(unknown)}")
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="scripe-chaos-"))
    async with application_database(args.database) as database_url:
        stack = ChaosStack(
            root=root, ports=Ports().shifted(args.port_offset), database_url=database_url
        )
        database = stack.settings.database_url
        print(f"chaos: data and logs in {root}; database {database}", flush=True)
        return await run_scenarios(stack, names, args.short)


@contextlib.asynccontextmanager
async def application_database(kind: str) -> AsyncIterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    name = f"scripe_chaos_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run_scenarios(stack: ChaosStack, names: list[str], short: bool) -> list[Result]:
    results: list[Result] = []
    try:
        await stack.start()
        db = stack.database()
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
            ctx = Context(stack, db, await stack.temporal_client(), http, short)
            for name in names:
                print(f"chaos: {name} …", flush=True)
                started = time.monotonic()
                try:
                    result = await SCENARIOS[name](ctx)
                except Exception as err:  # noqa: BLE001 - report it as a failed scenario
                    result = Result(name, "-", "-", "-", passed=False)
                    result.problems.append(f"crashed: {type(err).__name__}: {err}")
                result.seconds = result.seconds or time.monotonic() - started
                print(f"chaos: {name} {result.summary()} ({result.seconds:.0f} s)", flush=True)
                results.append(result)
        await db.dispose()
    finally:
        stack.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # A stopped run still stops its children (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = asyncio.run(run(args))
    table = markdown_table(results)
    print("\n" + table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        write_json(results, args.json)
    passed = sum(r.passed for r in results)
    print(f"\n{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if results and passed == len(results) else 1)


if __name__ == "__main__":
    main()
