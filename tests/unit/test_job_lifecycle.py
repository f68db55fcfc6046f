"""The job's rules have one home (domain/job_lifecycle.py) and the data layer applies it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

import contracts
from db.repo import jobs as jobs_repo
from db.tables import Job
from domain import job_lifecycle as lifecycle
from domain.job_lifecycle import JobStatus
from workflows.operator_view import RETRY_CAN_FIX, failure_details

ROOT = Path(__file__).resolve().parents[2]


def test_the_error_table_is_the_only_source_of_codes_and_messages() -> None:
    codes = [entry.code for entry in lifecycle.JOB_ERRORS]
    assert len(codes) == len(set(codes))
    assert contracts.JOB_ERROR_MESSAGES == {e.code: e.message for e in lifecycle.JOB_ERRORS}
    assert lifecycle.JOB_ALREADY_FINISHED not in contracts.JOB_ERROR_MESSAGES  # internal


def test_retryability_derived_from_the_table_is_what_it_was() -> None:
    # The values the policies and the operator view used before the table existed: the
    # derived tuple keeps their order too (it is part of every activity's retry policy).
    assert contracts.NON_RETRYABLE_ERROR_TYPES == (
        "provider_rejected",
        "source_not_allowed",
        "source_empty",
        "project_unavailable",
    )
    assert set(RETRY_CAN_FIX) == {
        "provider_unavailable",
        "generation_failed",
        "source_unreachable",
        "job_terminated",
        "job_timed_out",
        "provider_rejected",
        "spend_cap_exceeded",
        "project_unavailable",
        # Added with the code itself: a retry helps once the worker has a provider key.
        "provider_not_configured",
    }
    assert RETRY_CAN_FIX["project_unavailable"] == " Once the project is active again."


@pytest.mark.parametrize("entry", lifecycle.JOB_ERRORS, ids=lambda e: e.code)
def test_the_operator_view_follows_the_table(entry: lifecycle.JobErrorCode) -> None:
    details = failure_details(job_id="job_x", code=entry.code, message=entry.message, cause=None)
    if entry.retry_can_fix is None:
        assert "**No retry**" in details
    else:
        assert details.endswith(f"`scripe jobs retry job_x`.{entry.retry_can_fix}")


def _old_conflict(status: JobStatus, has_post: bool, target: JobStatus) -> bool:
    """finish_job's check as it was written inline in db/repo/jobs.py."""
    done_already = status == JobStatus.DONE and has_post
    ended_otherwise = status in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REFUSED)
    return (done_already and target != JobStatus.DONE) or (
        ended_otherwise and target == JobStatus.DONE
    )


@pytest.mark.parametrize("status", list(JobStatus))
@pytest.mark.parametrize("has_post", [True, False])
@pytest.mark.parametrize("target", [JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED])
def test_settlement_conflicts_keeps_the_data_layer_rule(
    status: JobStatus, has_post: bool, target: JobStatus
) -> None:
    assert lifecycle.settlement_conflicts(
        current=status, has_post=has_post, target=target
    ) == _old_conflict(status, has_post, target)


def test_the_transition_table_keeps_the_outcome_rules() -> None:
    moves = lifecycle.ALLOWED_TRANSITIONS
    assert set(moves) == set(JobStatus)
    assert not moves[JobStatus.DONE]  # a job DONE with its post never changes again
    for status in lifecycle.ENDED_WITHOUT_POST:
        assert JobStatus.DONE not in moves[status]
        assert not lifecycle.may_start_attempt(status)
    assert lifecycle.can_transition(JobStatus.QUEUED, JobStatus.RUNNING)
    assert lifecycle.can_transition("FAILED", "RUNNING")  # an operator's reset admits again
    assert not lifecycle.can_transition(JobStatus.DONE, JobStatus.FAILED)
    assert not lifecycle.can_transition(JobStatus.CANCELLED, JobStatus.RUNNING)
    assert lifecycle.can_transition(JobStatus.DONE, JobStatus.DONE)  # a retried settlement
    assert [s for s in JobStatus if lifecycle.may_start_attempt(s)] == [
        JobStatus.QUEUED,
        JobStatus.RUNNING,
    ]
    assert lifecycle.TERMINAL_JOB_STATUSES == frozenset(JobStatus) - set(
        lifecycle.OPEN_JOB_STATUSES
    )


@pytest.mark.parametrize("status", [None, *JobStatus])
@pytest.mark.parametrize("has_post", [True, False])
def test_admission_keeps_the_ledger_rule(status: JobStatus | None, has_post: bool) -> None:
    """reserve()'s check as it was written inline in db/repo/ledger.py."""
    if status is None or status == JobStatus.CANCELLED:
        expected = "cancelled"
    elif status == JobStatus.DONE and has_post:
        expected = "finished"
    else:
        expected = "admit"
    assert lifecycle.admission_of(status, has_post=has_post) == expected


def test_the_visibility_sql_is_the_python_rule() -> None:
    """visible_to_customers() (SQL) and is_visible (Python) agree on every row shape."""
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE jobs (id TEXT, status TEXT, acknowledged BOOLEAN)"))
        shapes = [(status, ack) for status in JobStatus for ack in (True, False)]
        conn.execute(
            text("INSERT INTO jobs VALUES (:id, :status, :acknowledged)"),
            [{"id": f"{s.value}-{a}", "status": s.value, "acknowledged": a} for s, a in shapes],
        )
        shown = set(
            conn.scalars(select(Job.__table__.c.id).where(jobs_repo.visible_to_customers()))
        )
    expected = {f"{s.value}-{a}" for s, a in shapes if lifecycle.is_visible(s, a)}
    assert shown == expected
    assert "REFUSED-True" not in shown and "QUEUED-False" not in shown
    assert {"QUEUED-True", "RUNNING-False", "DONE-False"} <= shown


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


@pytest.mark.parametrize("path", sorted((ROOT / "db" / "repo").glob("*.py")), ids=lambda p: p.name)
def test_the_data_layer_hard_codes_no_error_code_or_stage_text(path: Path) -> None:
    rules = {e.code for e in lifecycle.JOB_ERRORS} | {e.message for e in lifecycle.JOB_ERRORS}
    rules |= {stage.message for stage in lifecycle.STAGES}
    assert not _string_literals(path) & rules


def test_the_data_layer_hard_codes_no_progress_value() -> None:
    values = {stage.progress for stage in lifecycle.STAGES}
    for path in [*(ROOT / "db" / "repo").glob("*.py"), *(ROOT / "activities").glob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword | ast.Assign) and isinstance(
                node.value, ast.Constant | ast.Tuple
            ):
                consts = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                floats = {c.value for c in consts if isinstance(c, ast.Constant)}
                target = ast.unparse(node)
                if "progress" in target:
                    assert not floats & values, f"{path.name}: {target}"


def test_the_docs_show_the_modules_stage_texts() -> None:
    api_md = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for stage in lifecycle.STAGES:
        row = re.search(rf"^\| {stage.progress} \| `([^`]+)`", api_md, re.MULTILINE)
        assert row is not None and row.group(1) == stage.message
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    current_details = readme[readme.index("**Current Details**") :][:400]
    flat = " ".join(current_details.split())
    for stage in (lifecycle.READING_SOURCE, lifecycle.WRITING):
        assert f'"{stage.operator_stage}"' in flat


def test_writing_message_names_later_attempts() -> None:
    assert lifecycle.writing_message(1) == "Writing the post"
    assert lifecycle.writing_message(3) == "Writing the post (attempt 3)"


def test_the_module_is_pure_data_for_the_workflow_sandbox() -> None:
    """The workflow imports it (through contracts): standard library only, no I/O."""
    tree = ast.parse((ROOT / "domain" / "job_lifecycle.py").read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported <= {"__future__", "dataclasses", "enum", "typing"}


def test_the_spend_cap_message_holds_for_a_call_refused_mid_job() -> None:
    # The code is given both when admission is refused after a 202 and when a provider
    # call's worst case does not fit once the job runs: the message must not say when.
    message = contracts.JOB_ERROR_MESSAGES[lifecycle.SPEND_CAP_EXCEEDED]
    assert "cap" in message
    assert "before the job started" not in message
