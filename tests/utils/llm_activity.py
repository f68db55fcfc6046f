"""An LLM-activity test's job and activity environment: a RUNNING job holding a 5¢
reservation (as after admission) on any database, and the attempt's activity context."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from config import Settings
from contracts import GeneratePostInput, GenerationOptions, JobMode
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger
from devtools.tenants import SOURCE_TEXT, make_tenant
from ids import new_id

SETTINGS = Settings(secret_key="activity-tests", openai_api_key="sk-x")


@dataclass(frozen=True)
class JobRef:
    job_id: str
    workspace_id: str
    project_id: str


async def admitted_job(db: Database, settings: Settings = SETTINGS) -> JobRef:
    """A RUNNING job holding a 5¢ reservation, as after admission."""
    tenant = await make_tenant(db, settings.signing_key())
    job = new_id("job")
    now = datetime.now(UTC)
    await jobs_repo.insert_job(
        db=db,
        job_id=job,
        workspace_id=tenant.workspace_id,
        mode="live",
        type="POST_GENERATION",
        project_id=tenant.project_id,
        idempotency_scope=None,
        idempotency_generation=0,
        fingerprint=None,
        workflow_input={},
        estimate_nanos=50_000_000,
        now=now,
    )
    admission = await ledger.reserve(
        db=db,
        job_id=job,
        run_id="run-1",
        workspace_id=tenant.workspace_id,
        mode="live",
        day=now.date(),
        estimate_nanos=50_000_000,
        now=now,
    )
    assert admission.outcome == "accepted"
    return JobRef(job_id=job, workspace_id=tenant.workspace_id, project_id=tenant.project_id)


@pytest.fixture
async def job(any_db: Database) -> JobRef:
    return await admitted_job(any_db)


def request(job: JobRef, mode: JobMode = JobMode.LIVE, **options: Any) -> GeneratePostInput:
    return GeneratePostInput(
        job_id=job.job_id,
        workspace_id=job.workspace_id,
        mode=mode,
        project_id=job.project_id,
        source_text=SOURCE_TEXT,
        options=GenerationOptions(**options),
    )


def environment(
    attempt: int = 1, heartbeat_details: list[Any] | None = None
) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        attempt=attempt,
        workflow_run_id="run-1",
        heartbeat_details=heartbeat_details or [],
    )
    return env
