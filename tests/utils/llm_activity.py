"""An LLM-activity test's job and activity environment: a RUNNING job holding a 5¢
reservation (as after admission) on any database, the attempt's activity context, a
provider client with a scripted answer, and the transactions an engine opens."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion
from sqlalchemy import event
from temporalio.testing import ActivityEnvironment

from config import Settings
from connections import make_openai_client
from contracts import GeneratePostInput, GenerationOptions, JobMode
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger
from devtools.tenants import SOURCE_TEXT, make_tenant
from ids import new_id

SETTINGS = Settings(secret_key="activity-tests", openai_api_key="sk-x")
# Valid ISO 8601, and past year 9999 once in UTC: no database column can hold it.
FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1)))


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


def completion(content: str | None = "Hook line\n\nBody.", **overrides: Any) -> ChatCompletion:
    data: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 200,
            "total_tokens": 1200,
            "prompt_tokens_details": {"cached_tokens": 400},
            "completion_tokens_details": {"reasoning_tokens": 50},
        },
    }
    data.update(overrides)
    return ChatCompletion.model_validate(data)


class FakeCompletions:
    def __init__(self, outcome: ChatCompletion | Exception) -> None:
        self.outcome = outcome
        self.kwargs: list[dict[str, Any]] = []

    async def create(self, **kwargs: Any) -> ChatCompletion:
        self.kwargs.append(kwargs)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def client_with(outcome: ChatCompletion | Exception) -> tuple[openai.AsyncOpenAI, FakeCompletions]:
    client = make_openai_client(SETTINGS)
    assert client is not None
    fake = FakeCompletions(outcome)
    client.chat.completions.create = fake.create  # type: ignore[method-assign,assignment]
    return client, fake


async def charges_of(db: Database, job: JobRef) -> list[Any]:
    return [e for e in await ledger.job_entries(db=db, job_id=job.job_id) if e.kind == "charge"]


class Transactions:
    """The database transactions an engine opens, each as the statements it ran."""

    def __init__(self, db: Database) -> None:
        self.opened: list[list[str]] = []
        # First: SQLite's own "begin" listener sends the BEGIN that belongs to this one.
        event.listen(db.engine.sync_engine, "begin", self._on_begin, insert=True)
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._on_statement)

    def _on_begin(self, _conn: Any) -> None:
        self.opened.append([])

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.opened:
            self.opened[-1].append(statement)


def writes(transaction: list[str]) -> bool:
    return any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in transaction)
