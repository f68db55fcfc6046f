"""Record workflow histories for the replay test (tests/workflows/test_replay.py).

Run it after an intended, compatible workflow change, or to guard a new path; commit the
JSON files. If the replay test fails after a change, the change is incompatible with
running workflows: guard it with ``workflow.patched`` instead of re-recording.

    python -m devtools.record_histories
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cli.demo import SAMPLE_SOURCE
from config import Settings
from contracts import SEARCH_ATTRIBUTES, GenerationOptions, SourceSpec
from db.migrate import upgrade
from db.repo import projects as projects_repo
from db.repo import workspaces as workspaces_repo
from services.admission import TemporalJobs
from services.auth import Principal
from services.clock import SystemClock
from services.jobs import GenerationRequest, JobService
from services.pagination import CursorCodec
from worker import build_worker, worker_resources

OUT = Path(__file__).resolve().parent.parent / "tests" / "workflows" / "histories"


def _request(project_id: str, wait_ms: int) -> GenerationRequest:
    return GenerationRequest(
        project_id=project_id,
        source=SourceSpec(text=SAMPLE_SOURCE),
        options=GenerationOptions(include_hashtags=True),
        scheduled_for=None,
        wait_for_completion_ms=wait_ms,
        canonical_body="{}",
        api_version="2026-08-01",
        idempotency_key=None,
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
            search_attributes=list(SEARCH_ATTRIBUTES),
            data_converter=pydantic_data_converter,
        )
        settings = Settings(
            data_dir=Path(tmp),
            database_url=f"sqlite+aiosqlite:///{tmp}/record.db",
            secret_key="record",
            temporal_task_queue="record-histories",
        )
        await upgrade(settings.database_url)
        async with env, worker_resources(settings) as resources:
            db, now = resources.db, datetime.now(UTC)
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
            principal = Principal(
                key_id="key_record",
                workspace_id=ws.id,
                workspace_name="r",
                plan="SOLO",
                mode="test",
                rate_limit_per_minute=None,
            )

            def service(admission_timeout: float) -> JobService:
                temporal = TemporalJobs(
                    client=env.client,
                    task_queue=settings.temporal_task_queue,
                    admission_timeout=admission_timeout,
                )
                return JobService(
                    db=db,
                    temporal=temporal,
                    clock=SystemClock(),
                    cursors=CursorCodec(b"record"),
                    estimate_nanos=settings.spend_estimate_nanos,
                )

            # No worker yet: the job is accepted QUEUED; then its project is archived.
            queued = await service(0.5).submit(principal, _request(project.id, 0))
            await projects_repo.update_project(
                db=db, project_id=project.id, now=now, changes={"status": "ARCHIVED"}
            )
            async with build_worker(env.client, settings, resources):
                handle = env.client.get_workflow_handle(queued.job.id)
                await handle.result()
                await projects_repo.update_project(
                    db=db, project_id=project.id, now=now, changes={"status": "ACTIVE"}
                )
                done = await service(10).submit(principal, _request(project.id, 20_000))
            for name, job_id in (("done", done.job.id), ("failed_project", queued.job.id)):
                history = await env.client.get_workflow_handle(job_id).fetch_history()
                (OUT / f"{name}.json").write_text(history.to_json())
                print(f"wrote {OUT / f'{name}.json'}")


if __name__ == "__main__":
    asyncio.run(main())
