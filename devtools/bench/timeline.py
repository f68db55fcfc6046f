"""Where one job's time goes: serial POSTs on the embedded stack, each placed on one
timeline with its workflow history.

    python -m devtools.bench.timeline [--jobs 40] [--no-sandbox]

Every job is a ``POST /v1/posts/generations`` with ``wait_for_completion_ms`` (the
customer's fastest path to a post), sent one after the other with the zero-latency fake
LLM. For each, the history's event times (the server's clock, the same machine's) are taken
relative to the moment the request was written; the table prints the median of each
milestone, and the step between consecutive milestones. The worker's own Prometheus
histograms over the same jobs split the steps further (local activities, the activity's
time in the provider call, the SDK's calls to the server), and a pass of POSTs without
waiting gives the admission answer's time. Nothing is written to BENCHMARKS.md: the
numbers feed its "Where a job's time goes" section by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from devtools.bench.api_load import ApiDriver
from devtools.bench.embedded import EmbeddedStack, StackOptions

WARM_UP_JOBS = 10
# The worker's histograms worth a line: metric -> what it measures.
WORKER_HISTOGRAMS = {
    "temporal_workflow_task_execution_latency": "workflow task in the worker (with its LAs)",
    "temporal_local_activity_execution_latency": "local activity",
    "temporal_activity_execution_latency": "activity",
    "scripe_llm_request_latency": "provider call (openai SDK over HTTP), inside generate_post",
    "temporal_request_latency": "SDK call to the server",
}
_SAMPLE = re.compile(r"^(\w+)_(sum|count)\{([^}]*)\} (\S+)$")


def _histograms(metrics_port: int) -> dict[str, float]:
    """``{"<metric>|<activity or operation>|sum": ms, ...|count: n}`` from the worker."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match.group(1) not in WORKER_HISTOGRAMS:
            continue
        name, kind, labels, value = match.groups()
        which = re.search(r'(?:activity_type|operation)="([^"]+)"', labels)
        key = f"{name}|{which.group(1) if which else ''}|{kind}"
        values[key] = values.get(key, 0.0) + float(value)
    return values


def _event_ms(event: HistoryEvent, origin: float) -> float:
    return event.event_time.ToMicroseconds() / 1000.0 - origin * 1000.0


def _milestones(events: Sequence[HistoryEvent], origin: float) -> dict[str, float]:
    """The job's steps in history order; the n-th workflow task is numbered from 1."""
    marks: dict[str, float] = {}
    task = 0
    for event in events:
        kind = event.event_type
        at = _event_ms(event, origin)
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            marks["workflow started (update-with-start arrived)"] = at
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            task += 1
            marks[f"workflow task {task} picked up by the worker"] = at
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            label = {
                1: "workflow task 1 done: spend reserved (local activity), update answered,"
                " generate_post scheduled",
                2: "workflow task 2 done: post stored and cost settled (one local activity),"
                " workflow completed",
            }.get(task, f"workflow task {task} completed")
            marks[label] = at
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            marks["generate_post started (eager dispatch)"] = at
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            marks["generate_post completed (voice loaded, provider called, usage booked)"] = at
    return marks


async def _run(jobs: int, *, sandbox: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="scripe-timeline-") as workdir:
        stack = EmbeddedStack(StackOptions(workdir=Path(workdir), sandbox=sandbox))
        await stack.start()
        http = stack.api()
        try:
            assert stack.tenant is not None and stack.client is not None
            driver = ApiDriver(http, stack.tenant.project_id)
            for _ in range(WARM_UP_JOBS):
                await driver.submit(wait_ms=5000)
            # Back to back (as the bench's c=1 row): each admission overlaps the previous
            # job's generation in the worker. Spaced: the next POST waits for the job's end.
            admission: dict[str, list[float]] = {"back to back": [], "spaced": []}
            for spaced in (False, True):
                for _ in range(jobs):
                    sent = time.perf_counter()
                    admitted = await driver.submit()
                    elapsed = (time.perf_counter() - sent) * 1000
                    admission["spaced" if spaced else "back to back"].append(elapsed)
                    if spaced:
                        await stack.client.get_workflow_handle(str(admitted["id"])).result()
                await driver.drained()
            rows: dict[str, list[float]] = {}
            before = _histograms(stack.settings.worker_metrics_port)
            for _ in range(jobs):
                origin = time.time()
                sent = time.perf_counter()
                job = await driver.submit(wait_ms=5000)
                answered = (time.perf_counter() - sent) * 1000
                if job["status"] != "DONE":
                    continue
                history = await stack.client.get_workflow_handle(str(job["id"])).fetch_history()
                marks = _milestones(history.events, origin)
                marks["the POST's answer (DONE) is back at the client"] = answered
                for name, at in marks.items():
                    rows.setdefault(name, []).append(at)
            after = _histograms(stack.settings.worker_metrics_port)
        finally:
            await http.close()
            stack.stop()
    _print(rows, admission, jobs)
    _print_worker(before, after)


def _print(rows: dict[str, list[float]], admission: dict[str, list[float]], jobs: int) -> None:
    print(f"\n{jobs} serial POSTs with wait_for_completion_ms=5000 (medians, ms after sending)\n")
    print("| milestone | at (p50) | step from the previous |")
    print("|---|---|---|")
    previous = 0.0
    for name, values in sorted(rows.items(), key=lambda item: statistics.median(item[1])):
        at = statistics.median(values)
        print(f"| {name} | {at:.1f} ms | +{at - previous:.1f} ms |")
        previous = at
    for kind, values in admission.items():
        print(
            f"\nadmission (POST without waiting), {len(values)} serial, {kind}: "
            f"p50 {statistics.median(values):.1f} ms"
        )


def _print_worker(before: dict[str, float], after: dict[str, float]) -> None:
    print("\nthe worker's histograms over the same jobs (mean per occurrence)\n")
    print("| what | of | n | mean |")
    print("|---|---|---|---|")
    for key in sorted(k for k in after if k.endswith("|sum")):
        name, which, _ = key.split("|")
        count = after[f"{name}|{which}|count"] - before.get(f"{name}|{which}|count", 0.0)
        if count:
            total = after[key] - before.get(key, 0.0)
            label = f"{WORKER_HISTOGRAMS[name]} | {which or '–'} | {count:.0f}"
            print(f"| {label} | {total / count:.1f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument(
        "--no-sandbox", action="store_true", help="SCRIPE_WORKER_WORKFLOW_SANDBOX=false"
    )
    args = parser.parse_args()
    asyncio.run(_run(args.jobs, sandbox=not args.no_sandbox))


if __name__ == "__main__":
    main()
