"""Recorded histories must replay against today's workflow code.

A change that would break running workflows (different commands in a different order)
fails here. Histories are append-only, one set per released workflow version; guard a
behaviour change with ``workflow.patched`` and record the new version's set with
``python -m devtools.record_histories`` (docs/versioning.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from contracts import JobOutcome, JobStatus, PostGenerationInput
from workflows.post_generation import PostGenerationWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@workflow.defn(name="PostGenerationWorkflow")
class SkipsEverything:
    """An incompatible "new version": it no longer admits, writes or settles."""

    @workflow.run
    async def run(self, job: PostGenerationInput) -> JobOutcome:
        return JobOutcome(status=JobStatus.DONE)


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json("recorded-job", path.read_text())


def test_every_kind_of_history_is_recorded() -> None:
    assert {p.stem for p in HISTORIES} >= {
        "done",
        "failed_project",
        "failed_provider_rejected",
        "self_admitted",
        "reset_reapplying_updates",
        "reset_excluding_updates",
    }
    # The current version's set (VERSION and PATHS in devtools/record_histories.py; not
    # imported here: its web imports would leak into the sandboxed workflows below).
    current = (
        "text",
        "url",
        "refusal",
        "refusal_after_202",
        "cancel_queued",
        "cancel_running",
        "timeout",
        "failure",
        "reset",
    )
    # v3: events emitted only when an endpoint wants them; v4: the lean job (one patch
    # marker, a memo only when the job fails); v5: the writing step stores the post and
    # settles the job (no complete_job local activity).
    for version in ("v2", "v3", "v4", "v5"):
        assert {p.stem for p in HISTORIES} >= {f"{version}_{path}" for path in current}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_on_todays_workflow(path: Path) -> None:
    replayer = Replayer(workflows=[PostGenerationWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(_history(path), raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_an_incompatible_change_is_detected() -> None:
    replayer = Replayer(workflows=[SkipsEverything], data_converter=pydantic_data_converter)
    done = next(p for p in HISTORIES if p.stem == "done")
    result = await replayer.replay_workflow(_history(done), raise_on_replay_failure=False)
    # Specifically nondeterminism: any other failure (a crash, a bad converter) would not
    # prove that replay catches incompatible changes.
    assert isinstance(result.replay_failure, NondeterminismError), result.replay_failure


@workflow.defn(name="PostGenerationWorkflow")
class CrashesOnReplay:
    """A version that breaks with a bug, not with different commands."""

    @workflow.run
    async def run(self, job: PostGenerationInput) -> JobOutcome:
        raise RuntimeError("a bug, not a nondeterministic change")


async def test_a_crash_during_replay_is_not_taken_for_nondeterminism() -> None:
    """The control above is specific: a replay that fails for another reason differs."""
    replayer = Replayer(workflows=[CrashesOnReplay], data_converter=pydantic_data_converter)
    done = next(p for p in HISTORIES if p.stem == "done")
    result = await replayer.replay_workflow(_history(done), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert not isinstance(result.replay_failure, NondeterminismError)
