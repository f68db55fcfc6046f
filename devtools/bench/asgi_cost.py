"""``python -m devtools.bench.asgi_cost [--rounds 9] [--requests 400] [--paired-with DIR]``:
CPU per ``GET /v1/jobs/{id}`` inside the ASGI app, the API against the minimal baseline.

Both apps run in this process (their lifespans too), on one SQLite database seeded with the
bench's tenant and finished jobs, and are called directly, one request at a time, with no
HTTP server or client in between (uvicorn's share is the same for both). Process CPU time
(``time.process_time``: every thread, so aiosqlite's too) per request, in alternating
rounds; the medians are printed. The API logs as ``scripe api`` does (JSON lines, to a file
here). On a machine shared with other work this is steadier than timing a server under
load, which is what it is for: A/B of the API's per-request work.

On a shared machine the ratio of two separate runs still moves with the load (a run's
baseline can cost 0.8 or 1.4 ms per GET); ``--paired-with`` compares two checkouts in one
run instead, each in its own worker process, their rounds alternated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.context import RequestContextFilter
from api.main import create_app
from config import Settings
from devtools.bench import baseline_api
from devtools.bench.get_cost import _jobs
from devtools.bench.seed import BENCH_RATE_LIMIT_PER_MINUTE, seed
from devtools.serving import free_port
from observability.logs import configure_logging


async def _call(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    return status


@asynccontextmanager
async def _apps() -> AsyncIterator[tuple[dict[str, FastAPI], list[str], list[tuple[bytes, bytes]]]]:
    """Both apps, started, on a seeded database: (apps by name, job ids, request headers)."""
    workdir = Path(tempfile.mkdtemp(prefix="scripe-asgicost-"))
    settings = Settings(
        data_dir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'scripe.db'}",
        secret_key=secrets.token_urlsafe(32),
        temporal_address=f"127.0.0.1:{free_port()}",
        openai_api_key="sk-bench-fake",
        rate_limit_per_minute=BENCH_RATE_LIMIT_PER_MINUTE,
        log_format="json",
        log_level="INFO",
    )
    tenant = await seed(settings)
    ids = await _jobs(settings, tenant.workspace_id, tenant.project_id)
    log = (workdir / "api.log").open("w")
    sys.stderr = log
    configure_logging(level="INFO", log_format="json", filters=[RequestContextFilter()])
    headers = [(k.lower().encode(), v.encode()) for k, v in tenant.headers("live").items()]
    apps = {
        "api": create_app(settings, migrate=False),
        "baseline": baseline_api.create_app(settings),
    }
    try:
        async with (
            apps["api"].router.lifespan_context(apps["api"]),
            apps["baseline"].router.lifespan_context(apps["baseline"]),
        ):
            yield apps, ids, headers
    finally:
        sys.stderr = sys.__stderr__
        logging.getLogger().handlers.clear()
        log.close()


async def _round(
    apps: dict[str, FastAPI], ids: list[str], headers: list[tuple[bytes, bytes]], requests: int
) -> dict[str, float]:
    """One round: ``requests`` GETs against each app in turn; CPU ms per GET by app."""
    per_request: dict[str, float] = {}
    for name, app in apps.items():
        began = time.process_time()
        for i in range(requests):
            status = await _call(app, f"/v1/jobs/{ids[i % len(ids)]}", headers)
            assert status == 200, status
        per_request[name] = (time.process_time() - began) * 1000 / requests
    return per_request


async def measure(rounds: int, requests: int) -> str:
    per_request: dict[str, list[float]] = {"api": [], "baseline": []}
    async with _apps() as (apps, ids, headers):
        for round_ in range(rounds + 1):  # round 0 warms up
            result = await _round(apps, ids, headers, requests)
            if round_:
                for name, ms in result.items():
                    per_request[name].append(ms)
    return _summary("", per_request, rounds, requests)


def _summary(label: str, per_request: dict[str, list[float]], rounds: int, requests: int) -> str:
    api, base = (statistics.median(per_request[n]) for n in ("api", "baseline"))
    # Each round's API beside the baseline right after it: other load moves both.
    ratio = statistics.median(
        a / b for a, b in zip(per_request["api"], per_request["baseline"], strict=True)
    )
    return (
        f"{label}CPU per GET, median of {rounds} rounds of {requests}: API {api:.3f} ms, "
        f"baseline {base:.3f} ms; API ÷ baseline, median of the rounds' ratios {ratio:.2f}×\n"
        f"  API rounds: {', '.join(f'{x:.3f}' for x in per_request['api'])}\n"
        f"  baseline rounds: {', '.join(f'{x:.3f}' for x in per_request['baseline'])}"
    )


async def _serve_rounds(requests: int) -> None:
    """``--worker``: one round per line read on stdin, its result as one JSON line."""
    loop = asyncio.get_running_loop()
    out = sys.stdout
    async with _apps() as (apps, ids, headers):
        out.write("ready\n")
        out.flush()
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            out.write(json.dumps(await _round(apps, ids, headers, requests)) + "\n")
            out.flush()


def paired(other: Path, rounds: int, requests: int) -> str:
    """This checkout against ``other`` (another checkout of the project, e.g. ``main``):
    each in a worker process of its own, rounds alternated A B B A … so that both see the
    same machine. The API ÷ API ratio of the paired rounds is the A/B; run a checkout
    against a copy of itself to see the noise."""
    here = Path(__file__).resolve().parents[2]
    checkouts = {"this": here, "other": other.resolve()}
    # Both workers run this file's code (``other`` may predate ``--worker``) on their own
    # checkout's modules: that checkout first on the path, this file run by path.
    launch = (
        "import runpy, sys; path, requests = sys.argv[1:3]; "
        "sys.argv = ['asgi_cost', '--worker', '--requests', requests]; "
        "runpy.run_path(path, run_name='__main__')"
    )
    workers = {
        name: subprocess.Popen(
            [sys.executable, "-c", launch, str(Path(__file__).resolve()), str(requests)],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name, tree in checkouts.items()
    }
    results: dict[str, dict[str, list[float]]] = {n: {"api": [], "baseline": []} for n in workers}
    try:
        for worker in workers.values():
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        names = list(workers)
        for round_ in range(rounds + 1):  # round 0 warms up
            for name in names if round_ % 2 == 0 else names[::-1]:
                worker = workers[name]
                assert worker.stdin is not None and worker.stdout is not None
                worker.stdin.write("go\n")
                worker.stdin.flush()
                result = json.loads(worker.stdout.readline())
                if round_:
                    for app, ms in result.items():
                        results[name][app].append(ms)
    finally:
        for worker in workers.values():
            if worker.stdin is not None:
                worker.stdin.close()
            worker.wait()
    ab = statistics.median(
        a / b for a, b in zip(results["this"]["api"], results["other"]["api"], strict=True)
    )
    return "\n".join(
        [
            _summary(f"this ({checkouts['this']}): ", results["this"], rounds, requests),
            _summary(f"other ({checkouts['other']}): ", results["other"], rounds, requests),
            f"API CPU per GET, this ÷ other, median of the paired rounds: {ab:.3f}×",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.asgi_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--paired-with",
        type=Path,
        metavar="CHECKOUT",
        help="A/B: this checkout against another one, in alternated rounds",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_serve_rounds(args.requests))
    elif args.paired_with is not None:
        print(paired(args.paired_with, args.rounds, args.requests))
    else:
        print(asyncio.run(measure(args.rounds, args.requests)))


if __name__ == "__main__":
    main()
