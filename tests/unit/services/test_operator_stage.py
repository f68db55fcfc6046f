"""The stage operators read about a job (``scripe jobs``): one rule for every version's runs."""

from __future__ import annotations

import pytest

from services.operator_jobs import operator_stage

# What the API's start wrote before the lean workflow (v4).
OLD_START_MEMO = {"status": "QUEUED", "stage": "Waiting for admission"}


@pytest.mark.parametrize(
    ("job_status", "execution", "memo", "stage"),
    [
        # v4 runs: no memo but a failure memo; the stage follows JobStatus.
        ("QUEUED", "RUNNING", {}, "Waiting for admission"),
        ("RUNNING", "RUNNING", {}, "Running"),
        ("DONE", "COMPLETED", {}, "Finished: DONE"),
        ("CANCELLED", "CANCELED", {}, "Finished: CANCELLED"),
        (
            "FAILED",
            "FAILED",
            {"status": "FAILED", "stage": "Failed: provider_rejected", "errorCode": "x"},
            "Failed: provider_rejected",
        ),
        ("RUNNING", "TERMINATED", {}, "Workflow terminated while RUNNING"),
        # A v4 run started by an older API: its start memo still says QUEUED.
        ("DONE", "COMPLETED", OLD_START_MEMO, "Finished: DONE"),
        ("QUEUED", "RUNNING", OLD_START_MEMO, "Waiting for admission"),
        # Runs from before v4 kept their memo current: its stage, as before.
        (
            "RUNNING",
            "RUNNING",
            {"status": "RUNNING", "stage": "Reading the source URL"},
            "Reading the source URL",
        ),
        (
            "RUNNING",
            "TERMINATED",
            {"status": "RUNNING", "stage": "Reading the source URL"},
            "Reading the source URL",
        ),
        ("DONE", "COMPLETED", {"status": "DONE", "stage": "Finished: DONE"}, "Finished: DONE"),
        # No JobStatus at all (not a job we started): whatever the memo says.
        (None, "RUNNING", {}, None),
        (None, "RUNNING", {"stage": "x"}, "x"),
    ],
)
def test_stage_is_the_current_memo_or_follows_job_status(
    job_status: str | None, execution: str, memo: dict[str, str], stage: str | None
) -> None:
    assert operator_stage(job_status, execution, memo) == stage
