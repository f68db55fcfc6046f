"""LlmActivities: the exact provider call, failure translation, and booking of every call."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx  # the HTTP client openai uses
import openai
import pytest
from openai.types.chat import ChatCompletion
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.llm import LlmActivities
from config import Settings
from connections import make_openai_client
from contracts import (
    GENERATION_FAILED,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    GeneratePostInput,
    GenerationOptions,
    JobMode,
)
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger
from devtools.tenants import SOURCE_TEXT, make_tenant
from ids import new_id

SETTINGS = Settings(secret_key="activity-tests", openai_api_key="sk-x")


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


@dataclass(frozen=True)
class JobRef:
    job_id: str
    workspace_id: str
    project_id: str


@pytest.fixture
async def job(sqlite_db: Database) -> JobRef:
    """A RUNNING job holding a 5¢ reservation, as after admission."""
    tenant = await make_tenant(sqlite_db, SETTINGS.signing_key())
    job = new_id("job")
    now = datetime.now(UTC)
    await jobs_repo.insert_job(
        db=sqlite_db,
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
        db=sqlite_db,
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


def request(job: JobRef, mode: JobMode = JobMode.LIVE, **options: Any) -> GeneratePostInput:
    return GeneratePostInput(
        job_id=job.job_id,
        workspace_id=job.workspace_id,
        mode=mode,
        project_id=job.project_id,
        source_text=SOURCE_TEXT,
        options=GenerationOptions(**options),
    )


def environment(attempt: int = 1) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt, workflow_run_id="run-1")
    return env


def test_the_client_leaves_retries_to_temporal() -> None:
    client = make_openai_client(SETTINGS.model_copy(update={"llm_timeout_seconds": 42.0}))
    assert client is not None
    assert client.max_retries == 0
    assert client.timeout == 42.0


def test_no_provider_key_means_no_client() -> None:
    assert make_openai_client(Settings(secret_key="x")) is None


async def test_calls_the_provider_with_the_configured_model_and_limits(
    sqlite_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=sqlite_db, settings=SETTINGS, client=client)
    post = await environment().run(activities.generate_post, request(job))
    [kwargs] = fake.kwargs
    assert kwargs["model"] == "gpt-4o-mini"
    assert kwargs["max_tokens"] == SETTINGS.llm_max_output_tokens
    assert kwargs["timeout"] == SETTINGS.llm_timeout_seconds
    assert [m["role"] for m in kwargs["messages"]] == ["system", "user"]
    assert SOURCE_TEXT in kwargs["messages"][1]["content"]
    assert post.writer == "openai" and post.title == "Hook line"


async def test_usage_is_priced_and_booked_once_per_attempt(
    sqlite_db: Database, job: JobRef
) -> None:
    client, _ = client_with(completion())
    activities = LlmActivities(db=sqlite_db, settings=SETTINGS, client=client)
    post = await environment().run(activities.generate_post, request(job))
    # 600 uncached input at $0.15, 400 cached at $0.075, 200 output at $0.60 per 1M tokens.
    assert post.cost_nanos == 600 * 150 + 400 * 75 + 200 * 600
    again = await environment().run(activities.generate_post, request(job))  # same attempt
    assert again.cost_nanos == post.cost_nanos
    third = await environment(attempt=2).run(activities.generate_post, request(job))
    charges = [
        e for e in await ledger.job_entries(db=sqlite_db, job_id=job.job_id) if e.kind == "charge"
    ]
    assert [c.amount_nanos for c in charges] == [post.cost_nanos, third.cost_nanos]
    stored = await jobs_repo.get_job(db=sqlite_db, job_id=job.job_id)
    assert stored is not None and stored.actual_nanos == 2 * post.cost_nanos
    assert stored.reserved_open_nanos == 50_000_000 - 2 * post.cost_nanos
    assert stored.attempt_count == 3


def _response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("POST", "http://x/v1"))


@pytest.mark.parametrize(
    ("error", "error_type", "non_retryable"),
    [
        (
            openai.BadRequestError("bad", response=_response(400), body=None),
            PROVIDER_REJECTED,
            True,
        ),
        (
            openai.AuthenticationError("no", response=_response(401), body=None),
            PROVIDER_REJECTED,
            True,
        ),
        (
            openai.PermissionDeniedError("no", response=_response(403), body=None),
            PROVIDER_REJECTED,
            True,
        ),
        (openai.NotFoundError("no", response=_response(404), body=None), PROVIDER_REJECTED, True),
        (
            openai.UnprocessableEntityError("no", response=_response(422), body=None),
            PROVIDER_REJECTED,
            True,
        ),
        (
            openai.RateLimitError("slow", response=_response(429), body=None),
            PROVIDER_UNAVAILABLE,
            False,
        ),
        (
            openai.InternalServerError("oops", response=_response(500), body=None),
            PROVIDER_UNAVAILABLE,
            False,
        ),
        (
            openai.APIConnectionError(request=httpx.Request("POST", "http://x")),
            PROVIDER_UNAVAILABLE,
            False,
        ),
        (
            openai.APITimeoutError(request=httpx.Request("POST", "http://x")),
            PROVIDER_UNAVAILABLE,
            False,
        ),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
async def test_provider_failures_become_typed_application_errors(
    sqlite_db: Database, job: JobRef, error: Exception, error_type: str, non_retryable: bool
) -> None:
    client, _ = client_with(error)
    activities = LlmActivities(db=sqlite_db, settings=SETTINGS, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, request(job))
    assert raised.value.type == error_type
    assert raised.value.non_retryable is non_retryable
    charges = [
        e for e in await ledger.job_entries(db=sqlite_db, job_id=job.job_id) if e.kind == "charge"
    ]
    assert charges == []  # nothing was billed


async def test_rate_limit_retry_after_becomes_the_next_retry_delay(
    sqlite_db: Database, job: JobRef
) -> None:
    error = openai.RateLimitError(
        "slow", response=_response(429, **{"retry-after": "7"}), body=None
    )
    client, _ = client_with(error)
    activities = LlmActivities(db=sqlite_db, settings=SETTINGS, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, request(job))
    assert raised.value.next_retry_delay == timedelta(seconds=7)


@pytest.mark.parametrize(
    ("answer", "error_type", "non_retryable"),
    [
        (
            completion(
                content=None,
                choices=[
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": None, "refusal": "I can't"},
                    }
                ],
            ),
            PROVIDER_REJECTED,
            True,
        ),
        (
            completion(
                choices=[
                    {
                        "index": 0,
                        "finish_reason": "content_filter",
                        "message": {"role": "assistant", "content": "partial"},
                    }
                ]
            ),
            PROVIDER_REJECTED,
            True,
        ),
        (completion(content="   "), GENERATION_FAILED, False),
    ],
    ids=["refusal", "content_filter", "empty"],
)
async def test_billed_answers_without_a_post_fail_but_are_still_booked(
    sqlite_db: Database, job: JobRef, answer: ChatCompletion, error_type: str, non_retryable: bool
) -> None:
    client, _ = client_with(answer)
    activities = LlmActivities(db=sqlite_db, settings=SETTINGS, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, request(job))
    assert (raised.value.type, raised.value.non_retryable) == (error_type, non_retryable)
    charges = [
        e for e in await ledger.job_entries(db=sqlite_db, job_id=job.job_id) if e.kind == "charge"
    ]
    assert len(charges) == 1 and charges[0].amount_nanos > 0


async def test_test_mode_never_calls_the_provider_but_books_a_realistic_cost(
    sqlite_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=sqlite_db, settings=SETTINGS, client=client)
    post = await environment().run(
        activities.generate_post, request(job, JobMode.TEST, include_hashtags=True)
    )
    assert fake.kwargs == []
    assert post.writer == "offline" and post.model == "gpt-4o-mini"
    assert post.usage.input_tokens > 100 and post.usage.output_tokens > 20
    assert post.cost_nanos == post.usage.input_tokens * 150 + post.usage.output_tokens * 600
    assert post.content.split("\n")[-1].startswith("#")


async def test_an_unavailable_project_fails_without_calling_the_provider(
    sqlite_db: Database, job: JobRef
) -> None:
    from db.repo import projects as projects_repo

    await projects_repo.update_project(
        db=sqlite_db,
        project_id=job.project_id,
        now=datetime.now(UTC),
        changes={"status": "ARCHIVED"},
    )
    client, fake = client_with(completion())
    activities = LlmActivities(db=sqlite_db, settings=SETTINGS, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, request(job))
    assert (raised.value.type, raised.value.non_retryable) == ("project_unavailable", True)
    assert fake.kwargs == []


async def test_the_prompt_carries_the_projects_voice_and_closest_passages(
    sqlite_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=sqlite_db, settings=SETTINGS, client=client)
    await environment().run(activities.generate_post, request(job))
    system = fake.kwargs[0]["messages"][0]["content"]
    assert "Northwind Growth" in system and "Customer retention" in system
    assert "[Retention notes]" in system  # the KB passage that shares the source's words
