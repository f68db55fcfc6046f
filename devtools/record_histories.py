"""Record workflow histories for the replay test (tests/integration/workflows/test_replay.py).

Histories are append-only: each released version of the workflow adds one history per
path, named ``<version>_<path>.json``, and never rewrites an older one (the procedure:
docs/versioning.md). The six unprefixed files are the first version's.

    python -m devtools.record_histories            # records VERSION's set
    python -m devtools.record_histories --force    # overwrite VERSION's own files only

Records, on a dev server with the real worker and the real openai SDK against the fake
provider, every path of the current version: a text job and a URL job (DONE); a refusal
while the caller waits (402); a refusal after a 202 (FAILED); a job cancelled while QUEUED
and one cancelled while RUNNING (in its provider call); a provider that times out every
attempt (FAILED provider_unavailable); a provider rejection (FAILED); and a Web UI-style
reset of a DONE job (ends DONE with its post, no new call).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cli.demo import SAMPLE_SOURCE
from cli.stack import temporal_executable
from config import Settings
from contracts import SEARCH_ATTRIBUTES, GenerationOptions, JobMode, SourceSpec
from db.engine import Database
from db.migrate import upgrade
from db.repo import projects as projects_repo
from db.repo import workspaces as workspaces_repo
from db.tables import Job
from devtools.fake_openai import FakeOpenAI
from devtools.serving import serve
from services.admission import TemporalJobs
from services.auth import Principal
from services.clock import SystemClock
from services.errors import SpendCapExceeded
from services.jobs import GenerationRequest, JobService
from services.pagination import CursorCodec
from worker import build_worker, worker_resources
from workflows.post_generation import PostGenerationWorkflow

OUT = Path(__file__).resolve().parent.parent / "tests" / "integration" / "workflows" / "histories"
# The workflow version these recordings are of: bump it with every released change to the
# workflow (a new ``workflow.patched`` id, or a new branch on a recorded result), and
# record a new set.
VERSION = "v5"
PATHS = (
    "text",
    "url",
    "refusal",
    "refusal_after_202",
    "cancel_queued",
    "cancel_running",
    "timeout",
    "failure",
    "reset",
)
ARTICLE = (
    "<html><head><title>Onboarding calls</title></head><body><article><p>"
    + SAMPLE_SOURCE
    + "</p></article></body></html>"
)


def article_app() -> Starlette:
    async def page(_request: Request) -> Response:
        return HTMLResponse(ARTICLE)

    return Starlette(routes=[Route("/article", page)])


class Recorder:
    def __init__(self, client: Client, settings: Settings, db: Database) -> None:
        self.client, self.settings, self.db = client, settings, db
        self.histories: dict[str, str] = {}

    def service(self, admission_timeout: float) -> JobService:
        temporal = TemporalJobs(
            client=self.client,
            task_queue=self.settings.temporal_task_queue,
            admission_timeout=admission_timeout,
        )
        return JobService(
            db=self.db,
            temporal=temporal,
            clock=SystemClock(),
            cursors=CursorCodec(b"record"),
            estimate_nanos=self.settings.spend_estimate_nanos,
        )

    async def submit(
        self,
        principal: Principal,
        project_id: str,
        *,
        wait: bool = True,
        admission_timeout: float = 10,
        source: SourceSpec | None = None,
    ) -> str:
        submitted = await self.service(admission_timeout).submit(
            principal,
            GenerationRequest(
                project_id=project_id,
                source=source or SourceSpec(text=SAMPLE_SOURCE),
                options=GenerationOptions(include_hashtags=True),
                scheduled_for=None,
                wait_for_completion_ms=20_000 if wait else 0,
                canonical_body="{}",
                api_version="2026-08-01",
                idempotency_key=None,
            ),
        )
        return submitted.job.id

    async def keep(self, name: str, job_id: str) -> None:
        """The job's current run, once closed (a FAILED job's workflow fails: fine here)."""
        handle = self.client.get_workflow_handle_for(PostGenerationWorkflow.run, job_id)
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        self.histories[name] = (await handle.fetch_history()).to_json()

    async def latest_job(self, workspace_id: str) -> str:
        async with self.db.read() as session:
            job_id = await session.scalar(
                select(Job.id)
                .where(Job.workspace_id == workspace_id)
                .order_by(Job.created_at.desc())
                .limit(1)
            )
        assert job_id is not None
        return job_id


async def record(
    client: Client, settings: Settings, fake: FakeOpenAI, article_url: str
) -> dict[str, str]:
    async with worker_resources(settings) as resources:
        db, now = resources.db, datetime.now(UTC)
        recorder = Recorder(client, settings, db)
        ws = await workspaces_repo.create_workspace(db=db, name="r", plan="SOLO", now=now)
        capped = await workspaces_repo.create_workspace(db=db, name="c", plan="SOLO", now=now)
        await workspaces_repo.update_workspace(db=db, workspace_id=capped.id, daily_cap_cents=0)

        async def project_of(workspace_id: str) -> str:
            project = await projects_repo.create_project(
                db=db,
                workspace_id=workspace_id,
                name="Recorded",
                type="PERSONAL_BRAND",
                language="en",
                url=None,
                tone_profile={},
                voice_samples=[],
                pillars=["Customer retention"],
                now=now,
            )
            return project.id

        project_id, capped_project_id = await project_of(ws.id), await project_of(capped.id)

        def principal(mode: JobMode, workspace_id: str = ws.id) -> Principal:
            return Principal(
                key_id="key_r",
                workspace_id=workspace_id,
                workspace_name="r",
                plan="SOLO",
                mode=mode.value,
                rate_limit_per_minute=None,
            )

        live, test = principal(JobMode.LIVE), principal(JobMode.TEST)
        # Accepted while no worker runs (202 QUEUED): one to cancel, one refused later.
        queued = await recorder.submit(test, project_id, wait=False, admission_timeout=0.5)
        await recorder.service(10).cancel(test, queued)
        refused_late = await recorder.submit(
            principal(JobMode.TEST, capped.id), capped_project_id, wait=False, admission_timeout=0.5
        )
        async with build_worker(client, settings, resources):
            await recorder.keep("cancel_queued", queued)
            await recorder.keep("refusal_after_202", refused_late)
            text = await recorder.submit(live, project_id)
            await recorder.keep("text", text)
            url = await recorder.submit(test, project_id, source=SourceSpec(url=article_url))
            await recorder.keep("url", url)
            try:
                await recorder.submit(principal(JobMode.TEST, capped.id), capped_project_id)
                raise AssertionError("the capped workspace was admitted")
            except SpendCapExceeded:
                await recorder.keep("refusal", await recorder.latest_job(capped.id))
            fake.script.append("hang")
            running = await recorder.submit(live, project_id, wait=False)
            while not fake.requests or fake.script:
                await asyncio.sleep(0.05)
            await recorder.service(10).cancel(live, running)
            await recorder.keep("cancel_running", running)
            fake.script.extend(["hang"] * 5)
            await recorder.keep("timeout", await recorder.submit(live, project_id, wait=False))
            fake.script.append("400")
            await recorder.keep("failure", await recorder.submit(live, project_id))
            await operator_reset_of_done(client, text)
            await recorder.keep("reset", text)
        return recorder.histories


async def operator_reset_of_done(client: Client, job_id: str) -> None:
    """What the Web UI's Reset sends for the first WorkflowTaskCompleted of a DONE job."""
    handle = client.get_workflow_handle(job_id)
    description = await handle.describe()
    first_task = None
    async for event in client.get_workflow_handle(
        job_id, run_id=description.run_id
    ).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            first_task = event.event_id
            break
    assert first_task is not None
    await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=job_id, run_id=description.run_id),
            workflow_task_finish_event_id=first_task,
            request_id=str(uuid.uuid4()),
            reason="record: reset of a DONE job",
            reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_ALL_ELIGIBLE,
        )
    )


async def _record_on_a_fresh_stack() -> dict[str, str]:
    fake = FakeOpenAI()
    with tempfile.TemporaryDirectory() as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_executable()),
            search_attributes=list(SEARCH_ATTRIBUTES),
            data_converter=pydantic_data_converter,
        )
        async with (
            env,
            serve(fake.app(), lifespan="off") as llm,
            serve(article_app(), lifespan="off") as site,
        ):
            settings = Settings(
                data_dir=Path(tmp),
                database_url=f"sqlite+aiosqlite:///{tmp}/record.db",
                secret_key="record",
                temporal_task_queue="record-histories",
                openai_api_key="sk-record",
                openai_base_url=f"{llm}/v1",
                url_fetch_allow_private=True,
                # Short, so the provider that never answers times out every attempt quickly.
                llm_timeout_seconds=1,
            )
            await upgrade(settings.database_url)
            return await record(env.client, settings, fake, f"{site}/article")


def main() -> None:
    parser = argparse.ArgumentParser(description="Record this version's replay histories.")
    parser.add_argument("--force", action="store_true", help=f"overwrite {VERSION}_*.json")
    args = parser.parse_args()
    targets = {name: OUT / f"{VERSION}_{name}.json" for name in PATHS}
    existing = [p for p in targets.values() if p.exists()]
    if existing and not args.force:
        raise SystemExit(
            f"{len(existing)} {VERSION} histories exist already; histories are append-only: "
            "bump VERSION for a new workflow version (or --force to redo this version's own)"
        )
    histories = asyncio.run(_record_on_a_fresh_stack())
    assert set(histories) == set(PATHS), sorted(histories)
    for name, path in targets.items():
        path.write_text(histories[name])
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
