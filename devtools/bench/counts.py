"""``python -m devtools.bench.counts``: what one job costs, counted rather than timed.

Runs jobs through the 16-client loop (POST with ``wait_for_completion_ms``) on the bench's
stack, with the worker and the API under ``devtools.bench.instrument``, and prints per job:
workflow tasks and history events (from the finished jobs' histories, beside the floor's
update-with-start + one-activity workflow), database transactions and statements, JSON
encodes/decodes, Temporal payload conversions and log lines, per process, and each
process's CPU per job. Counts do not depend on how busy the machine is; the CPU column does.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
from datetime import UTC, datetime
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from devtools.bench.api_load import ApiDriver
from devtools.bench.floor import Floor
from devtools.bench.instrument import read_counts
from devtools.bench.procs import CpuMeter
from devtools.bench.report import write
from devtools.bench.session import WRAPPED, bench_stack, counts_file, machine_busy_seconds
from devtools.bench.stats import closed_loop

COUNTED = (
    ("transactions", "database transactions"),
    ("statements", "SQL statements"),
    ("json_encodes", "json.dumps calls"),
    ("json_decodes", "json.loads calls"),
    ("payloads_encoded", "Temporal payloads encoded"),
    ("payloads_decoded", "Temporal payloads decoded"),
    ("log_lines", "log lines"),
)


async def history_counts(client: Client, workflow_ids: list[str]) -> dict[str, float]:
    """Mean events per history, total and by type."""
    by_type: collections.Counter[str] = collections.Counter()
    total = 0
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        total += len(history.events)
        by_type.update(
            EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events
        )
    n = max(1, len(workflow_ids))
    return {"events": total / n} | {k: v / n for k, v in sorted(by_type.items())}


async def floor_ids(client: Client) -> list[str]:
    ids = []
    async for execution in client.list_workflows("WorkflowType = 'FloorAdmitted'"):
        ids.append(execution.id)
    return ids


async def measure(args: argparse.Namespace) -> str:
    async with bench_stack(
        database_url=args.database_url, sandbox=not args.no_sandbox, instrumented=True
    ) as stack:
        assert stack.client is not None and stack.tenant is not None
        driver = ApiDriver(stack.api(), stack.tenant.project_id)
        await driver.post_and_wait(
            total=args.concurrency, concurrency=args.concurrency, wait_ms=5000
        )
        await driver.drained()
        await asyncio.sleep(1.0)  # one more snapshot from each process
        before = {name: read_counts(counts_file(stack, name)) for name in WRAPPED}
        pids = {n: stack.processes.pid(n) for n in ("temporal", "worker", "api", "llm-fast")}
        meter = CpuMeter(pids)
        busy = machine_busy_seconds()
        first = len(driver.job_ids)
        outcomes = await driver.post_and_wait(
            total=args.jobs, concurrency=args.concurrency, wait_ms=5000
        )
        cpu = meter.read()
        wall = outcomes.done.wall_seconds
        machine_ms = (machine_busy_seconds() - busy) * 1000 / args.jobs
        await driver.drained()
        await asyncio.sleep(1.0)
        after = {name: read_counts(counts_file(stack, name)) for name in WRAPPED}
        job_ids = driver.job_ids[first:]
        ours = await history_counts(stack.client, job_ids)
        floor = Floor(stack.client)
        async with floor.worker():
            await closed_loop(floor.admitted_one_activity(), total=16, concurrency=16)  # warm
            floor_meter = CpuMeter({"temporal": pids["temporal"], "bench (floor)": os.getpid()})
            floor_run = await closed_loop(
                floor.admitted_one_activity(), total=args.jobs, concurrency=16
            )
            floor_cpu = floor_meter.read()
        theirs = await history_counts(stack.client, (await floor_ids(stack.client))[: args.jobs])
    floor_ms = {
        name: pct / 100 * floor_run.wall_seconds * 1000 / max(1, floor_run.count)
        for name, pct in floor_cpu.items()
    }
    per_job = {
        name: {k: (after[name].get(k, 0) - before[name].get(k, 0)) / args.jobs for k, _ in COUNTED}
        for name in WRAPPED
    }
    rows = [
        f"_date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC} · {args.jobs} jobs, {args.concurrency} "
        f"clients POSTing with wait_for_completion_ms=5000 · app database: "
        f"{'PostgreSQL' if args.database_url else 'SQLite'} · workflow sandbox: "
        f"{'off' if args.no_sandbox else 'on'} · DONE: {outcomes.hit_rate:.1%}_",
        "",
        "| per job | ours | floor (update-with-start + one activity) |",
        "|---|---|---|",
        f"| workflow tasks (completed) | {ours.get('WORKFLOW_TASK_COMPLETED', 0):.2f} "
        f"| {theirs.get('WORKFLOW_TASK_COMPLETED', 0):.2f} |",
        f"| history events | {ours['events']:.1f} | {theirs['events']:.1f} |",
    ]
    for kind in sorted(set(ours) | set(theirs)):
        if kind not in ("events", "WORKFLOW_TASK_COMPLETED"):
            rows.append(f"| … {kind} | {ours.get(kind, 0):.2f} | {theirs.get(kind, 0):.2f} |")
    rows += ["", "| per job | worker | API |", "|---|---|---|"]
    for key, label in COUNTED:
        rows.append(f"| {label} | {per_job['worker'][key]:.1f} | {per_job['api'][key]:.1f} |")
    ms = {name: pct / 100 * wall * 1000 / args.jobs for name, pct in cpu.items()}
    rows += [
        "",
        "| CPU per job (contended machine: read as shares) | ms |",
        "|---|---|",
        *(f"| {name} | {value:.1f} |" for name, value in ms.items()),
        f"| the four together | {sum(ms.values()):.1f} |",
        f"| whole machine (/proc/stat, includes other work) | {machine_ms:.1f} |",
        f"| jobs/s in this loop | {outcomes.done.rate:.1f} |",
        "",
        "| the floor's loop (update-with-start + one activity, 16 clients), CPU per job | ms |",
        "|---|---|",
        *(f"| {name} | {value:.1f} |" for name, value in floor_ms.items()),
        f"| jobs/s in this loop | {floor_run.rate:.1f} |",
    ]
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.counts", description=__doc__)
    parser.add_argument("--jobs", type=int, default=96)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", help="application database (default: SQLite)")
    parser.add_argument("--no-sandbox", action="store_true")
    parser.add_argument("--output", type=Path, help="also write the table into this file")
    parser.add_argument("--section", default="counts")
    args = parser.parse_args()
    body = asyncio.run(measure(args))
    print("\n" + body)
    if args.output:
        write(args.output, args.section, body)
        print(f"wrote section '{args.section}' of {args.output}")


if __name__ == "__main__":
    main()
