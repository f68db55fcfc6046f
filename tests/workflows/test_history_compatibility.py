"""Histories recorded before the operator-retry changes still replay on today's workflow.

Recorded on the dev server with the workflow as it was at commit 356e989: a DONE job, a
FAILED one (provider 400), a job that admitted itself after ADMISSION_GRACE (no update
arrived), and two operator resets of a failed job, one re-applying the ``admit`` update and
one excluding it (the run then waited ADMISSION_GRACE, which today's runs no longer do).
A replay that produces other commands than the history fails with a non-determinism error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.post_generation import PostGenerationWorkflow

HISTORIES = Path(__file__).parent / "histories"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json("recorded", json.loads(path.read_text()))
    replayer = Replayer(workflows=[PostGenerationWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


def test_every_kind_of_history_is_recorded() -> None:
    names = {p.stem for p in HISTORIES.glob("*.json")}
    assert names >= {
        "done",
        "failed_provider_rejected",
        "self_admitted",
        "reset_reapplying_updates",
        "reset_excluding_updates",
    }
