"""LlmActivities: the exact provider call, failure translation, and booking of every call."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2 as httpx  # the HTTP client openai uses
import openai
import pytest
from openai.types.chat import ChatCompletion
from temporalio.exceptions import ApplicationError

from activities.llm import AnsweredCall, LlmActivities
from activities.provider_errors import sdk_error_types
from config import Settings
from connections import make_openai_client
from contracts import (
    GENERATION_FAILED,
    JOB_ALREADY_FINISHED,
    JOB_ERROR_MESSAGES,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    SPEND_CAP_EXCEEDED,
    STORAGE_REJECTED,
    JobMode,
    TokenUsage,
)
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger
from db.repo import workspaces as workspaces_repo
from devtools.tenants import SOURCE_TEXT
from domain.job_lifecycle import writing_message
from domain.pricing import ModelPrice
from tests.utils.clock import MovableClock
from tests.utils.llm_activity import (
    SETTINGS,
    JobRef,
    Transactions,
    charges_of,
    client_with,
    completion,
    environment,
    request,
    writes,
)
from tests.utils.llm_activity import job as job  # noqa: F401 (fixture)
from tests.utils.waiting import eventually


def test_the_client_leaves_retries_to_temporal() -> None:
    client = make_openai_client(SETTINGS.model_copy(update={"llm_timeout_seconds": 42.0}))
    assert client is not None
    assert client.max_retries == 0
    assert client.timeout == 42.0


def test_no_provider_key_means_no_client() -> None:
    assert make_openai_client(Settings(secret_key="x")) is None


async def test_calls_the_provider_with_the_configured_model_and_limits(
    any_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    post = await environment().run(activities.generate_post, request(job))
    [kwargs] = fake.kwargs
    assert kwargs["model"] == "gpt-4o-mini"
    assert kwargs["max_tokens"] == SETTINGS.llm_max_output_tokens
    assert kwargs["timeout"] == SETTINGS.llm_timeout_seconds
    assert [m["role"] for m in kwargs["messages"]] == ["system", "user"]
    assert SOURCE_TEXT in kwargs["messages"][1]["content"]
    assert post.writer == "openai" and post.title == "Hook line"


async def test_usage_is_priced_and_booked_once_per_attempt(any_db: Database, job: JobRef) -> None:
    client, _ = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    post = await environment().run(activities.generate_post, request(job))
    # 600 uncached input at $0.15, 400 cached at $0.075, 200 output at $0.60 per 1M tokens.
    assert post.cost_nanos == 600 * 150 + 400 * 75 + 200 * 600
    again = await environment().run(activities.generate_post, request(job))  # same attempt
    assert again.cost_nanos == post.cost_nanos
    third = await environment(attempt=2).run(activities.generate_post, request(job))
    charges = [
        e for e in await ledger.job_entries(db=any_db, job_id=job.job_id) if e.kind == "charge"
    ]
    assert [c.amount_nanos for c in charges] == [post.cost_nanos, third.cost_nanos]
    stored = await jobs_repo.get_job(db=any_db, job_id=job.job_id)
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
            openai.RateLimitError(
                "quota",
                response=_response(429),
                body={"code": "insufficient_quota", "type": "insufficient_quota"},
            ),
            PROVIDER_REJECTED,
            True,
        ),
        (
            openai.APIStatusError("pay", response=_response(402), body=None),
            PROVIDER_REJECTED,
            True,
        ),
        (
            openai.APIStatusError("too large", response=_response(413), body=None),
            PROVIDER_REJECTED,
            True,
        ),
        (
            openai.ConflictError("conflict", response=_response(409), body=None),
            PROVIDER_REJECTED,
            True,
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
        (
            openai.APIResponseValidationError(
                response=_response(200), body=None, message="not a completion"
            ),
            GENERATION_FAILED,
            False,
        ),
        (ValueError("Expecting value: line 1 column 40"), GENERATION_FAILED, False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
async def test_provider_failures_become_typed_application_errors(
    any_db: Database, job: JobRef, error: Exception, error_type: str, non_retryable: bool
) -> None:
    client, _ = client_with(error)
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, request(job))
    assert raised.value.type == error_type
    assert raised.value.non_retryable is non_retryable
    charges = [
        e for e in await ledger.job_entries(db=any_db, job_id=job.job_id) if e.kind == "charge"
    ]
    assert charges == []  # nothing was billed


async def test_rate_limit_retry_after_becomes_the_next_retry_delay(
    any_db: Database, job: JobRef
) -> None:
    error = openai.RateLimitError(
        "slow", response=_response(429, **{"retry-after": "7"}), body=None
    )
    client, _ = client_with(error)
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
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
    any_db: Database, job: JobRef, answer: ChatCompletion, error_type: str, non_retryable: bool
) -> None:
    client, _ = client_with(answer)
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, request(job))
    assert (raised.value.type, raised.value.non_retryable) == (error_type, non_retryable)
    charges = [
        e for e in await ledger.job_entries(db=any_db, job_id=job.job_id) if e.kind == "charge"
    ]
    assert len(charges) == 1 and charges[0].amount_nanos > 0


async def test_test_mode_never_calls_the_provider_but_books_a_realistic_cost(
    any_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    post = await environment().run(
        activities.generate_post, request(job, JobMode.TEST, include_hashtags=True)
    )
    assert fake.kwargs == []
    assert post.writer == "offline" and post.model == "gpt-4o-mini"
    assert post.usage.input_tokens > 100 and post.usage.output_tokens > 20
    assert post.cost_nanos == post.usage.input_tokens * 150 + post.usage.output_tokens * 600
    assert post.content.split("\n")[-1].startswith("#")


async def test_an_unavailable_project_fails_without_calling_the_provider(
    any_db: Database, job: JobRef
) -> None:
    from db.repo import projects as projects_repo

    await projects_repo.update_project(
        db=any_db,
        project_id=job.project_id,
        now=datetime.now(UTC),
        changes={"status": "ARCHIVED"},
    )
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, request(job))
    assert (raised.value.type, raised.value.non_retryable) == ("project_unavailable", True)
    assert fake.kwargs == []


async def test_the_prompt_carries_the_projects_voice_and_closest_passages(
    any_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    await environment().run(activities.generate_post, request(job))
    system = fake.kwargs[0]["messages"][0]["content"]
    assert "Northwind Growth" in system and "Customer retention" in system
    assert "[Retention notes]" in system  # the KB passage that shares the source's words


def test_every_exception_class_of_the_sdk_has_a_failure_type() -> None:
    exported = {
        cls
        for _, cls in inspect.getmembers(openai, inspect.isclass)
        if issubclass(cls, BaseException)
    }
    assert exported, "the SDK exports no exception classes?"
    table = sdk_error_types()
    missing = sorted(cls.__name__ for cls in exported if cls not in table)
    assert missing == [], f"give these openai exceptions a failure type: {missing}"
    assert set(table.values()) <= set(JOB_ERROR_MESSAGES)


def _answer(job: JobRef, *, attempt: int, content: str | None = "Hook\n\nBody.") -> dict[str, Any]:
    """What an attempt records in its heartbeat details once the provider answered."""
    return AnsweredCall(
        charge_key=f"{job.job_id}:charge:run-1:{attempt}-act:{attempt}",
        day=datetime.now(UTC).date(),
        writer="openai",
        model="gpt-4o-mini",
        usage=TokenUsage(input_tokens=1000, output_tokens=200),
        cost_nanos=270_000,
        response_id="chatcmpl-earlier",
        language="en",
        title="Hook" if content else None,
        content=content,
        failure=None if content else (GENERATION_FAILED, "The AI provider returned no text."),
    ).model_dump(mode="json")


async def test_the_answer_is_recorded_in_the_heartbeat_before_booking(
    any_db: Database, job: JobRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)

    async def rejected(**_: Any) -> bool:
        raise ValueError("the database refused the entry")

    monkeypatch.setattr(ledger, "record_charge", rejected)
    env = environment()
    beats: list[tuple[Any, ...]] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    with pytest.raises(ApplicationError) as raised:
        await env.run(activities.generate_post, request(job))
    assert raised.value.type == STORAGE_REJECTED
    assert len(fake.kwargs) == 1
    recorded = [AnsweredCall.model_validate(d[-1]) for d in beats if d]
    assert recorded and recorded[-1].usage == TokenUsage(
        input_tokens=1000, cached_input_tokens=400, output_tokens=200, reasoning_tokens=50
    )
    assert recorded[-1].is_post
    assert await charges_of(any_db, job) == []
    monkeypatch.undo()
    # The next attempt books that answer under the first attempt's key and reuses its post.
    again = environment(attempt=2, heartbeat_details=[recorded[-1].model_dump(mode="json")])
    post = await again.run(activities.generate_post, request(job))
    assert len(fake.kwargs) == 1  # no second provider call
    assert post.title == "Hook line" and post.cost_nanos == recorded[-1].cost_nanos
    [charge] = await charges_of(any_db, job)
    assert charge.key == recorded[-1].charge_key


async def test_a_recorded_answer_is_booked_once_whichever_attempts_see_it(
    any_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    recorded = _answer(job, attempt=1)
    for attempt in (2, 3):
        post = await environment(attempt, [recorded]).run(activities.generate_post, request(job))
        assert post.content == "Hook\n\nBody." and post.cost_nanos == 270_000
    assert fake.kwargs == []
    [charge] = await charges_of(any_db, job)
    assert (charge.key, charge.amount_nanos) == (recorded["charge_key"], 270_000)
    stored = await jobs_repo.get_job(db=any_db, job_id=job.job_id)
    assert stored is not None and stored.actual_nanos == 270_000


async def test_a_recorded_answer_without_a_post_is_booked_and_the_call_made_again(
    any_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    recorded = _answer(job, attempt=1, content=None)
    post = await environment(2, [recorded]).run(activities.generate_post, request(job))
    assert len(fake.kwargs) == 1 and post.title == "Hook line"
    charges = await charges_of(any_db, job)
    assert [c.key for c in charges][0] == recorded["charge_key"]
    assert len(charges) == 2 and len({c.key for c in charges}) == 2


async def test_a_call_whose_worst_case_does_not_fit_is_not_made(
    any_db: Database, job: JobRef
) -> None:
    # $100 per 1M output tokens: 1,200 max_tokens alone cost 12¢ > the 5¢ hold + room.
    expensive = SETTINGS.model_copy(
        update={"llm_prices": {"gpt-4o-mini": ModelPrice(input=Decimal(1), output=Decimal(100))}}
    )
    await workspaces_repo.update_workspace(
        db=any_db, workspace_id=job.workspace_id, daily_cap_cents=10
    )
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=expensive, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, request(job))
    assert (raised.value.type, raised.value.non_retryable) == (SPEND_CAP_EXCEEDED, True)
    assert fake.kwargs == []
    stored = await jobs_repo.get_job(db=any_db, job_id=job.job_id)
    assert stored is not None and stored.reserved_open_nanos == 0  # released
    bucket = await ledger.get_bucket(
        db=any_db, workspace_id=job.workspace_id, mode="live", day=datetime.now(UTC).date()
    )
    assert bucket is not None and (bucket.reserved_nanos, bucket.spent_nanos) == (0, 0)


async def test_a_call_on_a_later_day_is_held_and_booked_in_that_days_bucket(
    any_db: Database, job: JobRef
) -> None:
    clock = MovableClock()
    today = clock.now().date()
    clock.advance(timedelta(days=1))
    client, _ = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client, clock=clock)
    post = await environment().run(activities.generate_post, request(job))
    [charge] = await charges_of(any_db, job)
    assert charge.day == clock.now().date()
    later = await ledger.get_bucket(
        db=any_db, workspace_id=job.workspace_id, mode="live", day=clock.now().date()
    )
    admission_day = await ledger.get_bucket(
        db=any_db, workspace_id=job.workspace_id, mode="live", day=today
    )
    assert later is not None and later.spent_nanos == post.cost_nanos
    assert admission_day is not None and admission_day.reserved_nanos == 0


async def test_an_attempt_reads_the_context_and_writes_once_before_its_call(
    any_db: Database, job: JobRef
) -> None:
    # The attempt's bookkeeping and the call's hold are one write; the context one read.
    client, fake = client_with(completion())
    transactions = Transactions(any_db)
    before_call: list[list[list[str]]] = []
    answer = fake.create

    async def create(**kwargs: Any) -> ChatCompletion:
        before_call.append([list(t) for t in transactions.opened])
        return await answer(**kwargs)

    client.chat.completions.create = create  # type: ignore[method-assign,assignment]
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    await environment().run(activities.generate_post, request(job))
    [opened] = before_call
    assert len(opened) == 2
    assert [writes(t) for t in opened] == [False, True]  # the context read, then the write
    stored = await jobs_repo.get_job(db=any_db, job_id=job.job_id)
    assert stored is not None and (stored.status, stored.attempt_count) == ("RUNNING", 1)
    assert stored.progress_message == writing_message(1)


async def test_an_attempt_of_another_run_or_a_finished_job_does_nothing(
    any_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    env = environment()
    env.info = dataclasses.replace(env.info, workflow_run_id="run-superseded")
    with pytest.raises(ApplicationError) as raised:
        await env.run(activities.generate_post, request(job))
    assert (raised.value.type, raised.value.non_retryable) == (JOB_ALREADY_FINISHED, True)
    assert raised.value.details[0] == {"status": "RUNNING", "post_id": None}
    assert fake.kwargs == []


async def test_the_heartbeat_covers_slow_database_steps(
    any_db: Database, job: JobRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    original = jobs_repo.start_call
    beats: list[tuple[Any, ...]] = []

    async def slow_start(**kwargs: Any) -> jobs_repo.StartedCall:
        # A step that waits until it sees heartbeats: it never would without them.
        await eventually(lambda: _true_when(len(beats) >= 3), timeout=5)
        return await original(**kwargs)

    monkeypatch.setattr(jobs_repo, "start_call", slow_start)
    env = environment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=timedelta(milliseconds=300))
    env.on_heartbeat = lambda *details: beats.append(details)
    await env.run(activities.generate_post, request(job))


async def _true_when(condition: bool) -> bool:
    return condition


async def test_beats_carry_the_previous_attempts_record_until_the_next_answer(
    any_db: Database, job: JobRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    recorded = _answer(job, attempt=1, content=None)

    beats: list[tuple[Any, ...]] = []

    async def down(**_: Any) -> bool:
        # Slow (the attempt beats meanwhile), then refused.
        await eventually(lambda: _true_when(len(beats) >= 3), timeout=5)
        raise ValueError("refused")

    monkeypatch.setattr(ledger, "record_charge", down)
    env = environment(2, [recorded])
    env.info = dataclasses.replace(env.info, heartbeat_timeout=timedelta(milliseconds=300))
    env.on_heartbeat = lambda *details: beats.append(details)
    with pytest.raises(ApplicationError):
        await env.run(activities.generate_post, request(job))
    # Booking the earlier answer failed: every beat still carries it for the next attempt.
    assert beats and all(details == (recorded,) for details in beats)
