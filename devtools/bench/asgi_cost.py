"""``python -m devtools.bench.asgi_cost [--rounds 9] [--requests 400]``: CPU per
``GET /v1/jobs/{id}`` inside the ASGI app, the API against the minimal baseline.

Both apps run in this process (their lifespans too), on one SQLite database seeded with the
bench's tenant and finished jobs, and are called directly, one request at a time, with no
HTTP server or client in between (uvicorn's share is the same for both). Process CPU time
(``time.process_time``: every thread, so aiosqlite's too) per request, in alternating
rounds; the medians are printed. The API logs as ``scripe api`` does (JSON lines, to a file
here). On a machine shared with other work this is steadier than timing a server under
load, which is what it is for: A/B of the API's per-request work.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import MutableMapping
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


async def measure(rounds: int, requests: int) -> str:
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
    per_request: dict[str, list[float]] = {name: [] for name in apps}
    try:
        async with (
            apps["api"].router.lifespan_context(apps["api"]),
            apps["baseline"].router.lifespan_context(apps["baseline"]),
        ):
            for round_ in range(rounds + 1):  # round 0 warms up
                for name, app in apps.items():
                    began = time.process_time()
                    for i in range(requests):
                        status = await _call(app, f"/v1/jobs/{ids[i % len(ids)]}", headers)
                        assert status == 200, status
                    if round_:
                        per_request[name].append((time.process_time() - began) * 1000 / requests)
    finally:
        sys.stderr = sys.__stderr__
        logging.getLogger().handlers.clear()
        log.close()
    api, base = (statistics.median(per_request[n]) for n in ("api", "baseline"))
    # Each round's API beside the baseline right after it: other load moves both.
    ratio = statistics.median(
        a / b for a, b in zip(per_request["api"], per_request["baseline"], strict=True)
    )
    return (
        f"CPU per GET, median of {rounds} rounds of {requests}: API {api:.3f} ms, "
        f"baseline {base:.3f} ms; API ÷ baseline, median of the rounds' ratios {ratio:.2f}×\n"
        f"  API rounds: {', '.join(f'{x:.3f}' for x in per_request['api'])}\n"
        f"  baseline rounds: {', '.join(f'{x:.3f}' for x in per_request['baseline'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.asgi_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    print(asyncio.run(measure(args.rounds, args.requests)))


if __name__ == "__main__":
    main()
