"""Record workflow histories for the replay test (tests/workflows/test_replay.py).

Run it after an intended, compatible workflow change, or to guard a new path; commit the
JSON files. If the replay test fails after a change, the change is incompatible with
running workflows: guard it with ``workflow.patched`` instead of re-recording.

    python -m devtools.record_histories

Records, on a dev server with the real worker and the real openai SDK against the fake
provider: a DONE job; a FAILED one (project archived before the worker got to it); one the
provider rejected; one started without the admission update; and operator resets of failed
jobs, with the update re-applied and excluded.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client
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
from devtools.fake_openai import FakeOpenAI
from devtools.serving import serve
from services.admission import TemporalJobs
from services.auth import Principal
from services.clock import SystemClock
from services.jobs import GenerationRequest, JobService
from services.operator_jobs import OperatorJobs
from services.pagination import CursorCodec
from worker import build_worker, worker_resources
from workflows.post_generation import PostGenerationWorkflow

OUT = Path(__file__).resolve().parent.parent / "tests" / "workflows" / "histories"


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
    ) -> str:
        submitted = await self.service(admission_timeout).submit(
            principal,
            GenerationRequest(
                project_id=project_id,
                source=SourceSpec(text=SAMPLE_SOURCE),
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
        handle = self.client.get_workflow_handle_for(PostGenerationWorkflow.run, job_id)
        await handle.result()
        self.histories[name] = (await handle.fetch_history()).to_json()


async def record(client: Client, settings: Settings, fake: FakeOpenAI) -> dict[str, str]:
    async with worker_resources(settings) as resources:
        db, now = resources.db, datetime.now(UTC)
        recorder = Recorder(client, settings, db)
        ws = await workspaces_repo.create_workspace(db=db, name="r", plan="SOLO", now=now)
        project = await projects_repo.create_project(
            db=db,
            workspace_id=ws.id,
            name="Recorded",
            type="PERSONAL_BRAND",
            language="en",
            url=None,
            tone_profile={},
            voice_samples=[],
            pillars=["Customer retention"],
            now=now,
        )

        def principal(mode: JobMode) -> Principal:
            return Principal(
                key_id="key_r",
                workspace_id=ws.id,
                workspace_name="r",
                plan="SOLO",
                mode=mode.value,
                rate_limit_per_minute=None,
            )

        async def set_status(status: str) -> None:
            await projects_repo.update_project(
                db=db, project_id=project.id, now=now, changes={"status": status}
            )

        # Accepted while no worker runs (202 QUEUED); archived before a worker admits it.
        archived = await recorder.submit(
            principal(JobMode.TEST), project.id, wait=False, admission_timeout=0.5
        )
        await set_status("ARCHIVED")
        operator = OperatorJobs(client=client, ui_url=settings.temporal_ui_url)
        async with build_worker(client, settings, resources):
            await recorder.keep("failed_project", archived)
            await set_status("ACTIVE")
            await recorder.keep("done", await recorder.submit(principal(JobMode.TEST), project.id))
            fake.script.append("400")
            rejected = await recorder.submit(principal(JobMode.LIVE), project.id)
            await recorder.keep("failed_provider_rejected", rejected)
            unannounced = await recorder.submit(
                principal(JobMode.TEST), project.id, wait=False, admission_timeout=0.5
            )
            await recorder.keep("self_admitted", unannounced)
            for name, reapply in (
                ("reset_reapplying_updates", True),
                ("reset_excluding_updates", False),
            ):
                fake.script.append("400")
                failed = await recorder.submit(principal(JobMode.LIVE), project.id)
                await operator.retry(failed, reason="record", reapply_updates=reapply)
                await recorder.keep(name, failed)
        return recorder.histories


async def _record_on_a_fresh_stack() -> dict[str, str]:
    fake = FakeOpenAI()
    with tempfile.TemporaryDirectory() as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_executable()),
            search_attributes=list(SEARCH_ATTRIBUTES),
            data_converter=pydantic_data_converter,
        )
        async with env, serve(fake.app(), lifespan="off") as llm:
            settings = Settings(
                data_dir=Path(tmp),
                database_url=f"sqlite+aiosqlite:///{tmp}/record.db",
                secret_key="record",
                temporal_task_queue="record-histories",
                openai_api_key="sk-record",
                openai_base_url=f"{llm}/v1",
            )
            await upgrade(settings.database_url)
            return await record(env.client, settings, fake)


def main() -> None:
    histories = asyncio.run(_record_on_a_fresh_stack())
    for name, text in sorted(histories.items()):
        (OUT / f"{name}.json").write_text(text)
        print(f"wrote {OUT / f'{name}.json'}")


if __name__ == "__main__":
    main()
