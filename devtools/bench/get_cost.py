"""``python -m devtools.bench.get_cost [--rounds 3] [--seconds 8]``: CPU per
``GET /v1/jobs/{id}``, the API against the minimal FastAPI baseline, A/B on one database.

Only the API (``scripe api``) and the baseline (``devtools.bench.baseline_api``) run, on a
SQLite database seeded with the bench's tenant and 200 finished jobs; no Temporal, no
worker (the API connects to Temporal lazily, and a read never needs it). 50 pollers read
back to back from one process at a time, the two alternated ``--rounds`` times, so a
change to the API's per-request work shows as CPU per GET and reads per second beside a
reference that did not change. CPU time per request is robust to other load on the
machine; reads per second are not.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from cli.supervisor import Supervisor, api_command, scripe_env
from config import Settings
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.tables import Job
from devtools.bench.api_load import ApiDriver
from devtools.bench.http import HttpClient
from devtools.bench.procs import cpu_seconds
from devtools.bench.seed import BENCH_RATE_LIMIT_PER_MINUTE, seed
from devtools.serving import free_port
from ids import new_id

JOBS = 200
POLLERS = 50


async def _jobs(settings: Settings, workspace_id: str, project_id: str) -> list[str]:
    db = Database(settings.database_url)
    now = datetime.now(UTC)
    ids = []
    try:
        for _ in range(JOBS):
            job_id = new_id("job")
            await jobs_repo.insert_job(
                db=db,
                job_id=job_id,
                workspace_id=workspace_id,
                mode="live",
                type="POST_GENERATION",
                project_id=project_id,
                idempotency_scope=None,
                idempotency_generation=0,
                fingerprint=None,
                workflow_input={},
                estimate_nanos=1_000_000,
                now=now,
            )
            ids.append(job_id)
        async with db.write() as session:
            await session.execute(
                update(Job).values(status="DONE", acknowledged=True, completed_at=now)
            )
            await session.commit()
    finally:
        await db.dispose()
    return ids


async def _until_up(http: HttpClient, path: str, processes: Supervisor) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        processes.check_alive()
        try:
            await http.request("GET", path)
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError("did not start")


async def measure(rounds: int, seconds: float) -> str:
    workdir = Path(tempfile.mkdtemp(prefix="scripe-getcost-"))
    settings = Settings(
        data_dir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'scripe.db'}",
        secret_key=secrets.token_urlsafe(32),
        temporal_address=f"127.0.0.1:{free_port()}",  # nothing listens: reads never need it
        api_host="127.0.0.1",
        api_port=free_port(),
        openai_api_key="sk-bench-fake",
        rate_limit_per_minute=BENCH_RATE_LIMIT_PER_MINUTE,
    )
    assert settings.secret_key is not None
    tenant = await seed(settings)
    ids = await _jobs(settings, tenant.workspace_id, tenant.project_id)
    env = scripe_env(
        data_dir=workdir,
        database_url=settings.database_url,
        secret_key=settings.secret_key.get_secret_value(),
        temporal_address=settings.temporal_address,
        api_host=settings.api_host,
        api_port=settings.api_port,
        rate_limit_per_minute=settings.rate_limit_per_minute,
    )
    processes = Supervisor(log_dir=workdir)
    base_port = free_port()
    processes.start("api", api_command(), env)
    processes.start(
        "baseline",
        [sys.executable, "-m", "devtools.bench.baseline_api", "--port", str(base_port)],
        env,
    )
    headers = tenant.headers("live")
    targets = {
        "api": HttpClient(settings.api_host, settings.api_port, headers=headers),
        "baseline": HttpClient(settings.api_host, base_port, headers=headers),
    }
    rows = ["| round | process | reads/s | p50 | CPU per GET |", "|---|---|---|---|---|"]
    try:
        await _until_up(targets["api"], "/v1/health", processes)
        await _until_up(targets["baseline"], "/health", processes)
        for round_ in range(rounds + 1):  # round 0 warms both up and is not shown
            for name, http in targets.items():
                driver = ApiDriver(http, tenant.project_id)
                driver.job_ids = ids
                pid = processes.pid(name)
                before = cpu_seconds(pid)
                polled = await driver.pollers(pollers=POLLERS, seconds=seconds)
                cpu_ms = (cpu_seconds(pid) - before) * 1000 / max(1, polled.count)
                if round_:
                    rows.append(
                        f"| {round_} | {name} | {polled.rate:.0f}/s | {polled.p50:.1f} ms "
                        f"| {cpu_ms:.2f} ms |"
                        + (f" ({polled.errors} errors)" if polled.errors else "")
                    )
    finally:
        for http in targets.values():
            await http.close()
        processes.stop_all()
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.get_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    print(asyncio.run(measure(args.rounds, args.seconds)))


if __name__ == "__main__":
    main()
