"""PostGenerationWorkflow in the time-skipping test server, with its activities mocked.

The mocks are registered under the real activity names, so the workflow code under test is
exactly production's; what each step returns or raises is scripted per test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts import (
    ADMIT_UPDATE_ID,
    JOB_ALREADY_FINISHED,
    PROJECT_UNAVAILABLE,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    SOURCE_NOT_ALLOWED,
    SPEND_CAP_EXCEEDED,
    Admission,
    AdmitRequest,
    CompletedJob,
    CompleteJobInput,
    FetchedSource,
    FetchSourceInput,
    FinishedJob,
    GeneratedPost,
    GeneratePostInput,
    JobMode,
    JobOutcome,
    JobStatus,
    PostGenerationInput,
    ReserveSpendInput,
    SettledJob,
    SettleJobInput,
    SourceSpec,
    SpendRefusal,
    TokenUsage,
)
from tests.utils.outcomes import job_outcome
from workflows import policies
from workflows.post_generation import PostGenerationWorkflow

# Retry backoffs are server timers the test server does not skip: keep them short here.
QUICK = timedelta(milliseconds=10)


@dataclass
class Script:
    """What the mocked activities answer, and what they were called with."""

    admission: Admission = field(
        default_factory=lambda: Admission(outcome="accepted", job_status=JobStatus.RUNNING)
    )
    generate_errors: list[Exception] = field(default_factory=list)
    fetch_error: Exception | None = None
    complete_error: Exception | None = None
    # generate_post heartbeats until it is cancelled (a provider call in flight).
    generate_hangs: bool = False
    # ... and, when cancelled, fails as a provider timeout would instead of stopping.
    generate_fails_when_cancelled: bool = False
    generating: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[tuple[str, object]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="reserve_spend")
        async def reserve(request: ReserveSpendInput) -> Admission:
            self.calls.append(("reserve_spend", request))
            return self.admission

        @activity.defn(name="fetch_source")
        async def fetch_source(request: FetchSourceInput) -> FetchedSource:
            self.calls.append(("fetch_source", request))
            if self.fetch_error:
                raise self.fetch_error
            return FetchedSource(url=request.url, text="Fetched article text. " * 20)

        @activity.defn(name="generate_post")
        async def generate_post(request: GeneratePostInput) -> GeneratedPost:
            self.calls.append(("generate_post", request))
            if self.generate_hangs:
                self.generating.set()
                try:
                    while True:  # cancelled through the heartbeat: CancelledError raised here
                        activity.heartbeat()
                        await asyncio.sleep(0.1)
                except asyncio.CancelledError:
                    if self.generate_fails_when_cancelled:
                        # Final, so the test server does not start another attempt.
                        raise ApplicationError(
                            "timed out", type=PROVIDER_UNAVAILABLE, non_retryable=True
                        ) from None
                    raise
            if self.generate_errors:
                raise self.generate_errors.pop(0)
            return GeneratedPost(
                title="Hook",
                content="Hook\n\nBody.",
                language="en",
                model="gpt-4o-mini",
                writer="offline",
                usage=TokenUsage(input_tokens=10, output_tokens=5),
                cost_nanos=5,
            )

        @activity.defn(name="complete_job")
        async def complete_job(request: CompleteJobInput) -> CompletedJob:
            self.calls.append(("complete_job", request))
            if self.complete_error:
                raise self.complete_error
            return CompletedJob(post_id="post_" + "a" * 26, estimate_nanos=50, actual_nanos=5)

        @activity.defn(name="settle_job")
        async def settle(request: SettleJobInput) -> SettledJob:
            self.calls.append(("settle_job", request))
            return SettledJob(estimate_nanos=50, actual_nanos=5)

        return [reserve, fetch_source, generate_post, complete_job, settle]

    def settlement(self) -> SettleJobInput:
        [request] = [r for name, r in self.calls if name == "settle_job"]
        assert isinstance(request, SettleJobInput)
        return request


@dataclass
class Harness:
    env: WorkflowEnvironment
    script: Script
    task_queue: str

    def job(self, **overrides: object) -> PostGenerationInput:
        values: dict[str, object] = {
            "job_id": f"job_{uuid.uuid4().hex[:26]}",
            "workspace_id": "ws_x",
            "mode": JobMode.TEST,
            "project_id": "proj_x",
            "source": SourceSpec(text="Retention beats acquisition."),
            "estimate_nanos": 50,
        }
        values.update(overrides)
        return PostGenerationInput.model_validate(values)

    def operation(
        self, job: PostGenerationInput
    ) -> WithStartWorkflowOperation[PostGenerationWorkflow, JobOutcome]:
        return WithStartWorkflowOperation(
            PostGenerationWorkflow.run,
            job,
            id=job.job_id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )

    async def admit_and_run(
        self, job: PostGenerationInput
    ) -> tuple[Admission, WorkflowHandle[PostGenerationWorkflow, JobOutcome]]:
        operation = self.operation(job)
        admission = await self.env.client.execute_update_with_start_workflow(
            PostGenerationWorkflow.admit,
            AdmitRequest(),
            start_workflow_operation=operation,
            id=ADMIT_UPDATE_ID,
        )
        return admission, await operation.workflow_handle()


@pytest.fixture
async def harness(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[Harness]:
    script = Script()
    task_queue = f"wf-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_skipping_env.client,
        task_queue=task_queue,
        workflows=[PostGenerationWorkflow],
        activities=script.activities(),
    ):
        yield Harness(env=time_skipping_env, script=script, task_queue=task_queue)


async def test_admitted_job_runs_every_step_in_order_and_settles_done(harness: Harness) -> None:
    admission, handle = await harness.admit_and_run(harness.job())
    assert admission.outcome == "accepted"
    outcome = await handle.result()
    assert outcome == JobOutcome(status=JobStatus.DONE, post_id="post_" + "a" * 26)
    assert harness.script.names() == ["reserve_spend", "generate_post", "complete_job"]
    [(_, completion)] = [c for c in harness.script.calls if c[0] == "complete_job"]
    assert isinstance(completion, CompleteJobInput)
    assert (completion.title, completion.content) == ("Hook", "Hook\n\nBody.")


async def test_reservation_is_for_the_workflow_day_and_run(harness: Harness) -> None:
    job = harness.job()
    _, handle = await harness.admit_and_run(job)
    await handle.result()
    [(_, request)] = [c for c in harness.script.calls if c[0] == "reserve_spend"]
    assert isinstance(request, ReserveSpendInput)
    assert request.job_id == job.job_id and request.estimate_nanos == job.estimate_nanos
    assert request.run_id == (await handle.describe()).run_id


async def test_refused_admission_fails_the_update_and_ends_without_generating(
    harness: Harness,
) -> None:
    refusal = SpendRefusal(
        bucket_date=date(2026, 11, 29), cap_nanos=5_000, spent_nanos=4_990, estimate_nanos=50
    )
    harness.script.admission = Admission(
        outcome="refused", job_status=JobStatus.REFUSED, refusal=refusal
    )
    job = harness.job()
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await harness.admit_and_run(job)
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == SPEND_CAP_EXCEEDED
    assert SpendRefusal.model_validate(cause.details[0]) == refusal
    outcome = await harness.env.client.get_workflow_handle_for(
        PostGenerationWorkflow.run, job.job_id
    ).result()
    assert outcome.status == JobStatus.REFUSED and outcome.error_code == SPEND_CAP_EXCEEDED
    assert harness.script.names() == ["reserve_spend"]


async def test_job_cancelled_before_admission_ends_without_a_reservation_or_post(
    harness: Harness,
) -> None:
    harness.script.admission = Admission(outcome="cancelled", job_status=JobStatus.CANCELLED)
    admission, handle = await harness.admit_and_run(harness.job())
    assert admission.outcome == "cancelled"
    assert (await handle.result()).status == JobStatus.CANCELLED
    assert harness.script.names() == ["reserve_spend"]


async def test_without_an_admission_update_the_workflow_admits_itself_at_once(
    harness: Harness,
) -> None:
    job = harness.job()
    handle = await harness.env.client.start_workflow(
        PostGenerationWorkflow.run, job, id=job.job_id, task_queue=harness.task_queue
    )
    assert (await handle.result()).status == JobStatus.DONE
    assert harness.script.names()[0] == "reserve_spend"
    history = await handle.fetch_history()
    assert not [e for e in history.events if e.HasField("timer_started_event_attributes")]


async def test_duplicate_admissions_reserve_once(harness: Harness) -> None:
    job = harness.job()
    first, handle = await harness.admit_and_run(job)
    second, _ = await harness.admit_and_run(job)  # same id: attaches to the same update
    assert first == second
    await handle.result()
    assert harness.script.names().count("reserve_spend") == 1


async def test_non_retryable_provider_rejection_fails_the_job_after_one_attempt(
    harness: Harness,
) -> None:
    harness.script.generate_errors = [
        ApplicationError("rejected", type=PROVIDER_REJECTED, non_retryable=True)
    ]
    _, handle = await harness.admit_and_run(harness.job())
    outcome = await job_outcome(handle)
    assert outcome == JobOutcome(status=JobStatus.FAILED, error_code=PROVIDER_REJECTED)
    assert harness.script.names().count("generate_post") == 1
    assert "complete_job" not in harness.script.names()
    settlement = harness.script.settlement()
    assert settlement.status == JobStatus.FAILED and settlement.error_code == PROVIDER_REJECTED
    assert settlement.error_message and "Traceback" not in settlement.error_message


async def test_retryable_provider_errors_are_retried_until_the_post_is_written(
    harness: Harness,
) -> None:
    harness.script.generate_errors = [
        ApplicationError("busy", type=PROVIDER_UNAVAILABLE, next_retry_delay=QUICK),
        ApplicationError("busy", type=PROVIDER_UNAVAILABLE, next_retry_delay=QUICK),
    ]
    _, handle = await harness.admit_and_run(harness.job())
    assert (await handle.result()).status == JobStatus.DONE
    assert harness.script.names().count("generate_post") == 3


async def test_provider_down_for_every_attempt_fails_with_provider_unavailable(
    harness: Harness,
) -> None:
    attempts = policies.LLM_CALL["retry_policy"].maximum_attempts
    harness.script.generate_errors = [
        ApplicationError("down", type=PROVIDER_UNAVAILABLE, next_retry_delay=QUICK)
        for _ in range(attempts)
    ]
    _, handle = await harness.admit_and_run(harness.job())
    outcome = await job_outcome(handle)
    assert outcome.error_code == PROVIDER_UNAVAILABLE
    assert harness.script.names().count("generate_post") == attempts


async def test_unexpected_activity_errors_fail_with_generation_failed(harness: Harness) -> None:
    attempts = policies.LLM_CALL["retry_policy"].maximum_attempts
    # An error type the workflow does not know, as a bug in an activity would raise.
    harness.script.generate_errors = [
        ApplicationError("boom", type="KeyError", next_retry_delay=QUICK) for _ in range(attempts)
    ]
    _, handle = await harness.admit_and_run(harness.job())
    outcome = await job_outcome(handle)
    assert outcome.error_code == "generation_failed"
    assert "boom" not in (harness.script.settlement().error_message or "")


async def test_unavailable_project_fails_the_job_at_once(harness: Harness) -> None:
    harness.script.generate_errors = [
        ApplicationError("archived", type=PROJECT_UNAVAILABLE, non_retryable=True)
    ]
    _, handle = await harness.admit_and_run(harness.job())
    assert (await job_outcome(handle)).error_code == PROJECT_UNAVAILABLE
    assert harness.script.names().count("generate_post") == 1
    assert harness.script.settlement().error_code == PROJECT_UNAVAILABLE


async def test_url_source_is_fetched_and_its_text_written_from(harness: Harness) -> None:
    job = harness.job(source=SourceSpec(url="https://example.com/a"))
    _, handle = await harness.admit_and_run(job)
    assert (await handle.result()).status == JobStatus.DONE
    names = harness.script.names()
    assert names.index("fetch_source") < names.index("generate_post")
    [(_, request)] = [c for c in harness.script.calls if c[0] == "generate_post"]
    assert isinstance(request, GeneratePostInput)
    assert request.source_text.startswith("Fetched article text.")


async def test_refused_url_fails_with_source_not_allowed(harness: Harness) -> None:
    harness.script.fetch_error = ApplicationError(
        "private", type=SOURCE_NOT_ALLOWED, non_retryable=True
    )
    _, handle = await harness.admit_and_run(harness.job(source=SourceSpec(url="https://x.test")))
    assert (await job_outcome(handle)).error_code == SOURCE_NOT_ALLOWED
    assert harness.script.names().count("fetch_source") == 1


async def test_operators_see_status_in_search_attributes_and_memo(harness: Harness) -> None:
    _, handle = await harness.admit_and_run(harness.job())
    await handle.result()
    described = await handle.describe()
    memo = await described.memo()
    assert memo["status"] == "DONE"
    assert described.typed_search_attributes.get(__import__("contracts").SA_JOB_STATUS) == "DONE"
    assert timedelta(0) <= (described.close_time - described.start_time)  # type: ignore[operator]


async def test_failed_job_fails_its_workflow_with_the_error_code_as_failure_type(
    harness: Harness,
) -> None:
    harness.script.generate_errors = [
        ApplicationError("rejected", type=PROVIDER_REJECTED, non_retryable=True)
    ]
    _, handle = await harness.admit_and_run(harness.job())
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == PROVIDER_REJECTED and cause.non_retryable
    assert JobOutcome.model_validate(cause.details[0]) == JobOutcome(
        status=JobStatus.FAILED, error_code=PROVIDER_REJECTED
    )
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


async def test_a_job_already_done_when_admitted_ends_done_without_generating(
    harness: Harness,
) -> None:
    """An operator's reset of a DONE job to its first workflow task: reserve finds the post."""
    post_id = "post_" + "d" * 26
    harness.script.admission = Admission(
        outcome="finished", job_status=JobStatus.DONE, post_id=post_id
    )
    job = harness.job()
    handle = await harness.env.client.start_workflow(
        PostGenerationWorkflow.run, job, id=job.job_id, task_queue=harness.task_queue
    )
    assert await handle.result() == JobOutcome(status=JobStatus.DONE, post_id=post_id)
    assert harness.script.names() == ["reserve_spend"]


async def test_a_step_finding_the_job_finished_ends_as_the_row_says_without_settling(
    harness: Harness,
) -> None:
    """A reset to a later workflow task of a DONE job: storing the post again is refused."""
    post_id = "post_" + "e" * 26
    harness.script.complete_error = ApplicationError(
        "finished",
        FinishedJob(status=JobStatus.DONE, post_id=post_id).model_dump(mode="json"),
        type=JOB_ALREADY_FINISHED,
        non_retryable=True,
    )
    _, handle = await harness.admit_and_run(harness.job())
    assert await handle.result() == JobOutcome(status=JobStatus.DONE, post_id=post_id)
    assert "settle_job" not in harness.script.names()


async def test_cancelling_a_running_job_stops_the_call_settles_it_and_ends_canceled(
    harness: Harness,
) -> None:
    harness.script.generate_hangs = True
    _, handle = await harness.admit_and_run(harness.job())
    await harness.script.generating.wait()

    await handle.cancel()

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    settlement = harness.script.settlement()
    assert settlement.status == JobStatus.CANCELLED and settlement.error_code is None
    assert "complete_job" not in harness.script.names()
    # The workflow settled only after the activity had stopped (its cancellation completed).
    history = await handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED in kinds


async def test_a_call_that_fails_while_the_cancellation_is_pending_still_cancels_the_job(
    harness: Harness,
) -> None:
    harness.script.generate_hangs = True
    harness.script.generate_fails_when_cancelled = True
    _, handle = await harness.admit_and_run(harness.job())
    await harness.script.generating.wait()

    await handle.cancel()

    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    assert isinstance(raised.value.cause, CancelledError)
    assert harness.script.settlement().status == JobStatus.CANCELLED
    assert harness.script.names().count("generate_post") == 1
