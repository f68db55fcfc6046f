"""The texts operators read about a failed job (memo and current details in the Web UI)."""

from __future__ import annotations

import pytest
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

from workflows.operator_view import (
    MAX_CAUSE_CHARS,
    failure_cause,
    failure_details,
    failure_memo,
)


def activity_error(cause: BaseException, *, activity: str = "generate_post") -> ActivityError:
    error = ActivityError(
        "Activity task failed",
        scheduled_event_id=13,
        started_event_id=14,
        identity="worker",
        activity_type=activity,
        activity_id="3",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    error.__cause__ = cause
    return error


def test_cause_names_the_step_the_retry_state_and_the_chain_of_causes() -> None:
    provider = ApplicationError("Error code: 400 - fake 400", type="BadRequestError")
    rejected = ApplicationError("The AI provider rejected the request.", type="provider_rejected")
    rejected.__cause__ = provider

    assert failure_cause(activity_error(rejected)) == (
        "generate_post failed (non retryable failure): provider_rejected: The AI provider "
        "rejected the request. ← BadRequestError: Error code: 400 - fake 400"
    )


def test_cause_of_a_timeout_and_a_long_cause_is_cut() -> None:
    timeout = TimeoutError("timed out", type=TimeoutType.START_TO_CLOSE, last_heartbeat_details=[])
    assert failure_cause(activity_error(timeout, activity="fetch_source")) == (
        "fetch_source failed (non retryable failure): start to close timeout"
    )
    long = failure_cause(activity_error(ApplicationError("x" * 2000, type="generation_failed")))
    assert len(long) == MAX_CAUSE_CHARS and long.endswith("…")


def test_memo_and_details_carry_code_message_cause_and_how_to_retry() -> None:
    memo = failure_memo(code="provider_rejected", message="Rejected.", cause="why")
    assert memo == {
        "status": "FAILED",
        "stage": "Failed: provider_rejected",
        "errorCode": "provider_rejected",
        "errorMessage": "Rejected.",
        "cause": "why",
    }
    assert "cause" not in failure_memo(code="c", message="m", cause=None)
    details = failure_details(
        job_id="job_1", code="provider_rejected", message="Rejected.", cause="why"
    )
    assert details.splitlines()[0] == "**Failed** · `provider_rejected`"
    assert "**Cause** why" in details and "`scripe jobs retry job_1`" in details


@pytest.mark.parametrize("code", ["provider_unavailable", "job_terminated", "spend_cap_exceeded"])
def test_details_offer_a_retry_for_codes_a_retry_can_fix(code: str) -> None:
    details = failure_details(job_id="job_1", code=code, message="m", cause=None)
    assert "`scripe jobs retry job_1`" in details and "**No retry**" not in details


@pytest.mark.parametrize("code", ["source_not_allowed", "source_empty", "storage_rejected"])
def test_details_offer_no_retry_for_codes_a_retry_cannot_fix(code: str) -> None:
    details = failure_details(job_id="job_1", code=code, message="m", cause=None)
    assert "scripe jobs retry" not in details
    assert "**No retry** A retry would fail the same way" in details
