"""The Temporal worker: runs the post-generation workflow and its activities.

``build_worker`` is what production and tests both use, so tests register exactly the
workflows and activities that production does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
import openai
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.llm import LlmActivities
from activities.posts import PostActivities
from activities.reconcile import ReconcileActivities
from activities.source import SourceActivities
from activities.spend import SpendActivities
from activities.webhooks import WebhookActivities
from bytecode import compile_workflows
from config import Settings, get_settings
from connections import connect_temporal, make_openai_client
from contracts import webhook_task_queue
from db.engine import Database
from db.migrate import upgrade
from observability.logs import TemporalContextFilter, configure_logging
from observability.runtime import worker_runtime
from services.reconciliation import Reconciler, ensure_reconciler_schedule
from workflows.post_generation import PostGenerationWorkflow
from workflows.reconciler import ReconcileJobsWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow, WebhookEventsWorkflow

log = logging.getLogger("scripe.worker")

# After the graceful timeout, the time the SDK gets to cancel the activities and report
# them (within docker-compose's stop_grace_period: graceful + 10 s).
SHUTDOWN_MARGIN_SECONDS = 5.0
EXIT_SHUTDOWN_TIMED_OUT = 3


@dataclass(frozen=True)
class WorkerResources:
    db: Database
    openai_client: openai.AsyncOpenAI | None
    http: httpx.AsyncClient


@asynccontextmanager
async def worker_resources(settings: Settings) -> AsyncIterator[WorkerResources]:
    db = Database(settings.database_url)
    openai_client = make_openai_client(settings)
    # Redirects are followed by hand (each hop is checked); no proxies from the environment.
    http = httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "ScripeBot/1.0 (+https://scripe.io)"},
    )
    try:
        yield WorkerResources(db=db, openai_client=openai_client, http=http)
    finally:
        await http.aclose()
        if openai_client is not None:
            await openai_client.close()
        await db.dispose()


def build_worker(client: Client, settings: Settings, resources: WorkerResources) -> Worker:
    spend = SpendActivities(resources.db)
    posts = PostActivities(resources.db)
    llm = LlmActivities(db=resources.db, settings=settings, client=resources.openai_client)
    source = SourceActivities(db=resources.db, settings=settings, http=resources.http)
    reconcile = ReconcileActivities(Reconciler(db=resources.db, client=client))
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[PostGenerationWorkflow, ReconcileJobsWorkflow],
        activities=[
            spend.reserve,
            spend.settle,
            posts.complete_job,
            llm.generate_post,
            source.fetch_source,
            reconcile.reconcile_jobs,
        ],
        # Every heartbeat reaches the server: a cancelled job's step in flight learns of the
        # cancellation at its next beat (≤ 5 s) instead of after the SDK's 16 s throttle.
        max_heartbeat_throttle_interval=timedelta(seconds=1),
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
        identity=settings.worker_identity,
        # Off only where throughput matters more than the guard rails: the workflow stays
        # sandbox-clean because the tests run it sandboxed (the default).
        workflow_runner=(
            SandboxedWorkflowRunner()
            if settings.worker_workflow_sandbox
            else UnsandboxedWorkflowRunner()
        ),
    )


def build_webhook_worker(client: Client, settings: Settings, resources: WorkerResources) -> Worker:
    """Webhook events and deliveries on their own task queue and activity slots: a slow
    or dead endpoint never takes a slot a job's step could use."""
    webhooks = WebhookActivities(
        db=resources.db,
        http=resources.http,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.webhooks_allow_private,
        max_backoff_seconds=settings.webhook_max_backoff_seconds,
    )
    return Worker(
        client,
        task_queue=webhook_task_queue(settings.temporal_task_queue),
        workflows=[WebhookEventsWorkflow, WebhookDeliveryWorkflow],
        activities=[webhooks.record_job_events, webhooks.attempt_delivery, webhooks.give_up],
        max_concurrent_activities=settings.webhook_max_concurrent_deliveries,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
        workflow_runner=(
            SandboxedWorkflowRunner()
            if settings.worker_workflow_sandbox
            else UnsandboxedWorkflowRunner()
        ),
    )


async def run_worker(settings: Settings) -> None:
    await upgrade(settings.database_url)
    client = await connect_temporal(settings, runtime=worker_runtime(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Every minute, jobs whose workflow was terminated or timed out are settled.
    schedule_id = await ensure_reconciler_schedule(client, settings.temporal_task_queue)
    log.info("reconciler schedule %s is up to date", schedule_id)
    async with worker_resources(settings) as resources:
        worker = build_worker(client, settings, resources)
        webhook_worker = build_webhook_worker(client, settings, resources)
        async with worker, webhook_worker:
            log.info(
                "worker polling task queue %s; metrics on %s",
                settings.temporal_task_queue,
                _metrics_url(settings),
            )
            await stop.wait()
            log.info("worker shutting down")
            await _shut_down(worker, settings)


async def _shut_down(worker: Worker, settings: Settings) -> None:
    """Stop polling and let in-flight activities finish (or hand them back to Temporal
    after the graceful timeout), within a bound.

    The bound matters when Temporal is unreachable: the SDK then retries reporting the
    tasks it finished for minutes, and an orchestrator's SIGKILL would come first anyway.
    Past the bound the process exits at once; what it had not reported, Temporal hands to
    another worker after the task's timeout.
    """
    bound = settings.worker_graceful_shutdown_seconds + SHUTDOWN_MARGIN_SECONDS
    try:
        await asyncio.wait_for(worker.shutdown(), timeout=bound)
    except TimeoutError:
        log.error("worker did not shut down within %.0f s (is Temporal reachable?); exiting", bound)
        logging.shutdown()
        os._exit(EXIT_SHUTDOWN_TIMED_OUT)


def _metrics_url(settings: Settings) -> str:
    if settings.worker_metrics_address is None:
        return "nothing (SCRIPE_WORKER_METRICS_PORT=0)"
    return f"http://{settings.worker_metrics_address}/metrics"


def main() -> None:
    settings = get_settings()
    configure_logging(
        level=settings.log_level,
        log_format=settings.log_format,
        filters=[TemporalContextFilter()],
    )
    # uvloop (installed with uvicorn[standard], as the API already runs on it): the
    # worker's loop is woken by every database call's thread and every Temporal poll, and
    # the stock loop's wake-ups were ~8 % of its busy CPU (docs/perf/before-worker.svg).
    # Workflow code is unaffected: the SDK runs workflows on its own deterministic loop.
    # With PYTHONDONTWRITEBYTECODE the sandbox would compile the workflow modules from
    # source for every job (bytecode.py).
    compile_workflows()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run_worker(settings))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # not on this platform: the stock loop
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    main()
