"""``generate_post`` with ``store_post``: the call that wrote the post is booked, the post
stored and the job settled DONE in one transaction, on SQLite and PostgreSQL; a billed
call stays booked when the post cannot be stored or the job was finished first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from openai.types.chat import ChatCompletion
from temporalio.exceptions import ApplicationError

from activities.llm import AnsweredCall, LlmActivities
from contracts import JOB_ALREADY_FINISHED, STORAGE_REJECTED, GeneratePostInput, JobStatus
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger
from db.repo import posts as posts_repo
from tests.utils.llm_activity import (
    FAR_FUTURE,
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


def storing(job: JobRef, **fields: Any) -> GeneratePostInput:
    return request(job).model_copy(update={"store_post": True, **fields})


async def test_the_call_its_post_and_the_settlement_are_one_transaction(
    any_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    transactions = Transactions(any_db)
    after_call: list[int] = []
    answer = fake.create

    async def create(**kwargs: Any) -> ChatCompletion:
        reply = await answer(**kwargs)
        after_call.append(len(transactions.opened))
        return reply

    client.chat.completions.create = create  # type: ignore[method-assign,assignment]
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    scheduled = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
    post = await environment().run(activities.generate_post, storing(job, scheduled_for=scheduled))

    [opened_before] = after_call
    after = transactions.opened[opened_before:]
    assert [writes(t) for t in after] == [True]  # one write after the call, nothing else
    # ... which writes the job row once, at its commit (no autoflush before each statement).
    [write] = after
    assert sum(" ".join(q.split()).startswith("UPDATE jobs ") for q in write) == 1
    assert post.post_id is not None and post.webhook_subscribers is False
    stored = await jobs_repo.get_job(db=any_db, job_id=job.job_id)
    assert stored is not None
    assert (stored.status, stored.post_id) == (JobStatus.DONE, post.post_id)
    assert stored.actual_nanos == post.cost_nanos and stored.reserved_open_nanos == 0
    [saved] = await posts_repo.posts_for_job(db=any_db, job_id=job.job_id)
    assert (saved.id, saved.title, saved.status) == (post.post_id, "Hook line", "scheduled")
    [charge] = await charges_of(any_db, job)
    assert charge.amount_nanos == post.cost_nanos
    entries = await ledger.job_entries(db=any_db, job_id=job.job_id)
    [release] = [e for e in entries if e.kind == "release"]
    assert release.amount_nanos == 50_000_000 - post.cost_nanos


async def test_a_retried_attempt_after_the_commit_ends_as_the_job_is(
    any_db: Database, job: JobRef
) -> None:
    # The worker died after the transaction and before reporting: the next attempt reuses
    # the recorded answer, finds the job DONE, books nothing and stores nothing again.
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    env = environment()
    beats: list[tuple[Any, ...]] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    first = await env.run(activities.generate_post, storing(job))
    recorded = AnsweredCall.model_validate([d for d in beats if d][-1][-1])

    again = environment(attempt=2, heartbeat_details=[recorded.model_dump(mode="json")])
    with pytest.raises(ApplicationError) as raised:
        await again.run(activities.generate_post, storing(job))
    assert (raised.value.type, raised.value.non_retryable) == (JOB_ALREADY_FINISHED, True)
    assert raised.value.details[0] == {"status": "DONE", "post_id": first.post_id}
    assert len(fake.kwargs) == 1
    assert len(await charges_of(any_db, job)) == 1
    assert len(await posts_repo.posts_for_job(db=any_db, job_id=job.job_id)) == 1


async def test_an_answer_recorded_before_a_crash_is_booked_with_its_post(
    any_db: Database, job: JobRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, fake = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)

    async def worker_dies(**_: Any) -> Any:
        raise RuntimeError("the worker died before the transaction")  # not the database's

    monkeypatch.setattr(jobs_repo, "charge_and_finish", worker_dies)
    env = environment()
    beats: list[tuple[Any, ...]] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    with pytest.raises(RuntimeError):
        await env.run(activities.generate_post, storing(job))
    monkeypatch.undo()
    assert await charges_of(any_db, job) == []
    recorded = AnsweredCall.model_validate([d for d in beats if d][-1][-1])

    again = environment(attempt=2, heartbeat_details=[recorded.model_dump(mode="json")])
    post = await again.run(activities.generate_post, storing(job))
    assert len(fake.kwargs) == 1  # the post the provider wrote (and billed) is reused
    [charge] = await charges_of(any_db, job)
    assert (charge.key, charge.amount_nanos) == (recorded.charge_key, recorded.cost_nanos)
    stored = await jobs_repo.get_job(db=any_db, job_id=job.job_id)
    assert stored is not None and (stored.status, stored.post_id) == ("DONE", post.post_id)
    assert stored.reserved_open_nanos == 0


async def test_a_post_that_cannot_be_stored_leaves_its_call_booked(
    any_db: Database, job: JobRef
) -> None:
    client, _ = client_with(completion())
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, storing(job, scheduled_for=FAR_FUTURE))
    assert (raised.value.type, raised.value.non_retryable) == (STORAGE_REJECTED, True)
    [charge] = await charges_of(any_db, job)
    assert charge.amount_nanos > 0
    assert await posts_repo.posts_for_job(db=any_db, job_id=job.job_id) == []
    stored = await jobs_repo.get_job(db=any_db, job_id=job.job_id)
    assert stored is not None and stored.status == "RUNNING"  # the workflow settles it FAILED
    assert stored.actual_nanos == charge.amount_nanos


async def test_a_job_finished_during_the_call_keeps_its_outcome_and_the_call_its_charge(
    any_db: Database, job: JobRef
) -> None:
    client, fake = client_with(completion())
    answer = fake.create

    async def cancelled_meanwhile(**kwargs: Any) -> ChatCompletion:
        await jobs_repo.finish_job(
            db=any_db,
            job_id=job.job_id,
            status=JobStatus.CANCELLED,
            error_code=None,
            error_message=None,
            now=datetime.now(UTC),
        )
        return await answer(**kwargs)

    client.chat.completions.create = cancelled_meanwhile  # type: ignore[method-assign,assignment]
    activities = LlmActivities(db=any_db, settings=SETTINGS, client=client)
    with pytest.raises(ApplicationError) as raised:
        await environment().run(activities.generate_post, storing(job))
    assert (raised.value.type, raised.value.non_retryable) == (JOB_ALREADY_FINISHED, True)
    assert raised.value.details[0] == {"status": "CANCELLED", "post_id": None}
    [charge] = await charges_of(any_db, job)
    stored = await jobs_repo.get_job(db=any_db, job_id=job.job_id)
    assert stored is not None and stored.status == "CANCELLED" and stored.post_id is None
    assert stored.actual_nanos == charge.amount_nanos > 0
    assert await posts_repo.posts_for_job(db=any_db, job_id=job.job_id) == []
    bucket = await ledger.get_bucket(
        db=any_db, workspace_id=job.workspace_id, mode="live", day=datetime.now(UTC).date()
    )
    assert bucket is not None
    assert (bucket.spent_nanos, bucket.reserved_nanos) == (charge.amount_nanos, 0)
