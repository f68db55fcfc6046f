"""PostGenerationWorkflow in the time-skipping test server, with its activities mocked.

The mocks are registered under the real activity names, so the workflow code under test is
exactly production's; what each step returns or raises is scripted per test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, CancelledError

from contracts import (
    JOB_ALREADY_FINISHED,
    PROJECT_UNAVAILABLE,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    SOURCE_NOT_ALLOWED,
    SPEND_CAP_EXCEEDED,
    Admission,
    CompleteJobInput,
    FinishedJob,
    GeneratePostInput,
    JobOutcome,
    JobStatus,
    ReserveSpendInput,
    SourceSpec,
    SpendRefusal,
)
from tests.utils.outcomes import job_outcome
from tests.utils.workflow_harness import COMPLETED_POST_ID, QUICK, STORED_POST_ID, Harness
from workflows import policies
from workflows.post_generation import PATCH_LEAN_JOB, PostGenerationWorkflow


async def test_admitted_job_runs_every_step_in_order_and_settles_done(harness: Harness) -> None:
    scheduled = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
    admission, handle = await harness.admit_and_run(harness.job(scheduled_for=scheduled))
    assert admission.outcome == "accepted"
    outcome = await handle.result()
    # The writing step stored the post and settled the job in its charge's transaction.
    assert outcome == JobOutcome(status=JobStatus.DONE, post_id=STORED_POST_ID)
    assert harness.script.names() == ["reserve_spend", "generate_post"]
    [(_, generation)] = [c for c in harness.script.calls if c[0] == "generate_post"]
    assert isinstance(generation, GeneratePostInput)
    assert (generation.store_post, generation.scheduled_for) == (True, scheduled)


async def test_a_post_the_writing_step_did_not_store_is_stored_by_complete_job(
    harness: Harness,
) -> None:
    # An activity that answers without storing (an older worker's, or a result recorded
    # before store_post): the workflow stores the post and settles the job itself.
    harness.script.stores_post = False
    _, handle = await harness.admit_and_run(harness.job())
    outcome = await handle.result()
    assert outcome == JobOutcome(status=JobStatus.DONE, post_id=COMPLETED_POST_ID)
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


async def test_operators_see_status_in_search_attributes_and_current_details(
    harness: Harness,
) -> None:
    _, handle = await harness.admit_and_run(harness.job())
    await handle.result()
    described = await handle.describe()
    assert described.typed_search_attributes.get(__import__("contracts").SA_JOB_STATUS) == "DONE"
    # The run is closed (a close time only exists then) and closed after it started.
    assert described.status == WorkflowExecutionStatus.COMPLETED
    assert described.start_time is not None and described.close_time is not None
    assert described.close_time >= described.start_time


async def test_a_done_job_records_one_patch_marker_and_no_memo_upsert(harness: Harness) -> None:
    """The lean job: one marker for every patch, the stage in JobStatus and current details."""
    _, handle = await harness.admit_and_run(harness.job())
    await handle.result()
    events = (await handle.fetch_history()).events
    patches = [
        e.marker_recorded_event_attributes.SerializeToString()
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert len(patches) == 1
    assert PATCH_LEAN_JOB.encode() in patches[0]
    kinds = [e.event_type for e in events]
    assert EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED not in kinds
    assert kinds.count(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) == 3
    assert (await (await handle.describe()).memo()) == {}


async def test_a_failed_job_still_gets_its_failure_memo(harness: Harness) -> None:
    harness.script.generate_errors = [
        ApplicationError("rejected", type=PROVIDER_REJECTED, non_retryable=True)
    ]
    _, handle = await harness.admit_and_run(harness.job())
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    memo = await (await handle.describe()).memo()
    assert memo["status"] == "FAILED" and memo["errorCode"] == PROVIDER_REJECTED
    assert memo["cause"].startswith("generate_post failed")
    kinds = [e.event_type for e in (await handle.fetch_history()).events]
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED) == 1


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
    harness.script.stores_post = False
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
