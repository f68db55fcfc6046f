"""Operators find jobs by search attributes (WorkspaceId, ProjectId, JobStatus, JobMode and
the job id), in the Web UI's query language and with ``scripe jobs``."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pytest

from contracts import JobMode, JobStatus, PostGenerationInput, SourceSpec
from db.repo import projects as projects_repo
from devtools.tenants import Tenant
from ids import new_id
from services.admission import TemporalJobs
from services.operator_jobs import JobFilter, OperatorJobs, visibility_query
from tests.utils.cli import scripe
from tests.utils.jobs import done_job
from tests.utils.stack import FakeLlm, Stack
from tests.utils.waiting import eventually


@dataclass
class Jobs:
    """A workspace's jobs across projects, modes and outcomes, plus another workspace's."""

    test_p1: str
    test_p2: str
    failed_live: str
    retried_live: str  # failed, then retried to DONE: two runs under one id
    other_workspace: str
    other_workspace_id: str
    project_2: str


async def submit(
    stack: Stack, tenant: Tenant, mode: Literal["live", "test"] = "test", **body: Any
) -> dict[str, Any]:
    job = await done_job(stack, tenant, mode, wait_ms=15_000, **body)
    assert job["status"] in ("DONE", "FAILED"), job
    return job


@pytest.fixture
async def jobs(stack: Stack, tenant: Tenant, llm: FakeLlm) -> Jobs:
    project_2 = await projects_repo.create_project(
        db=stack.db,
        workspace_id=tenant.workspace_id,
        name="Second project",
        type="COMPANY_PAGE",
        language="en",
        url=None,
        tone_profile={},
        voice_samples=[],
        pillars=[],
        now=datetime.now(UTC),
    )
    other = await stack.tenant()
    test_p1 = await submit(stack, tenant)
    test_p2 = await submit(stack, tenant, projectId=project_2.id)
    llm.fake.script.extend(["400", "400"])
    failed = await submit(stack, tenant, "live")
    retried = await submit(stack, tenant, "live")
    await OperatorJobs(client=stack.client, ui_url="http://ui").retry(retried["id"], reason="t")
    await stack.client.get_workflow_handle(retried["id"]).result()
    other_job = await submit(stack, other)
    return Jobs(
        test_p1=test_p1["id"],
        test_p2=test_p2["id"],
        failed_live=failed["id"],
        retried_live=retried["id"],
        other_workspace=other_job["id"],
        other_workspace_id=other.workspace_id,
        project_2=project_2.id,
    )


async def found(stack: Stack, job_filter: JobFilter, expected: set[str]) -> None:
    """Visibility is eventually consistent: wait until the filter finds exactly ``expected``."""
    operator = OperatorJobs(client=stack.client, ui_url="http://ui")
    last: list[str] = []

    async def matches() -> bool:
        nonlocal last
        last = [run.job_id for run in await operator.find(job_filter)]
        return sorted(last) == sorted(expected)

    try:
        await eventually(matches)
    except AssertionError:
        raise AssertionError(f"{job_filter}: found {last}, expected {sorted(expected)}") from None


async def test_search_attribute_filters_find_the_right_jobs(
    stack: Stack, tenant: Tenant, jobs: Jobs
) -> None:
    ws = tenant.workspace_id
    all_of_ws = {jobs.test_p1, jobs.test_p2, jobs.failed_live, jobs.retried_live}
    await found(stack, JobFilter(workspace_id=ws), all_of_ws)
    await found(stack, JobFilter(workspace_id=ws, status=JobStatus.FAILED), {jobs.failed_live})
    await found(
        stack,
        JobFilter(workspace_id=ws, status=JobStatus.DONE),
        {jobs.test_p1, jobs.test_p2, jobs.retried_live},
    )
    await found(
        stack, JobFilter(workspace_id=ws, mode="live"), {jobs.failed_live, jobs.retried_live}
    )
    await found(stack, JobFilter(workspace_id=ws, project_id=jobs.project_2), {jobs.test_p2})
    await found(
        stack,
        JobFilter(workspace_id=ws, project_id=tenant.project_id, mode="test"),
        {jobs.test_p1},
    )
    await found(stack, JobFilter(workspace_id=jobs.other_workspace_id), {jobs.other_workspace})
    await found(stack, JobFilter(project_id=jobs.project_2), {jobs.test_p2})


async def test_the_web_ui_query_also_lists_the_failed_run_of_a_retried_job(
    stack: Stack, tenant: Tenant, jobs: Jobs
) -> None:
    """What an operator types in the Web UI: every run matches, so a retried job shows its
    failed first run too; ``scripe jobs list`` keeps only current runs (test above)."""
    query = f'WorkspaceId = "{tenant.workspace_id}" AND JobStatus = "FAILED"'

    async def failed_runs() -> list[str] | None:
        ids = [w.id async for w in stack.client.list_workflows(query)]
        return sorted(ids) if len(ids) == 2 else None

    assert await eventually(failed_runs) == sorted([jobs.failed_live, jobs.retried_live])
    by_id = [
        w.run_id async for w in stack.client.list_workflows(f'WorkflowId = "{jobs.retried_live}"')
    ]
    assert len(by_id) == 2


def test_visibility_query_is_the_web_ui_syntax_and_refuses_anything_but_ids() -> None:
    query = visibility_query(
        JobFilter(workspace_id="ws_a1", project_id="proj_b2", status=JobStatus.FAILED, mode="live")
    )
    assert query == (
        'WorkflowType = "PostGenerationWorkflow" AND WorkspaceId = "ws_a1" AND '
        'ProjectId = "proj_b2" AND JobStatus = "FAILED" AND JobMode = "live"'
    )
    assert visibility_query(JobFilter()) == 'WorkflowType = "PostGenerationWorkflow"'
    for bad in ('ws" OR WorkspaceId != "', "ws a", "", "x" * 101):
        with pytest.raises(ValueError, match="not an id"):
            visibility_query(JobFilter(workspace_id=bad))


# --- the CLI, as an operator runs it -----------------------------------------------------------


async def test_scripe_jobs_list_show_and_retry(
    stack: Stack, tenant: Tenant, jobs: Jobs, temporal_ui_port: int
) -> None:
    ws = tenant.workspace_id
    await found(stack, JobFilter(workspace_id=ws, status=JobStatus.FAILED), {jobs.failed_live})

    code, out, err = await scripe(
        stack, temporal_ui_port, "jobs", "list", "--workspace", ws, "--status", "FAILED", "--json"
    )
    assert code == 0, err
    [row] = json.loads(out)
    assert row["jobId"] == jobs.failed_live and row["status"] == "FAILED"
    assert (row["workspaceId"], row["mode"], row["errorCode"]) == (ws, "live", "provider_rejected")
    assert "BadRequestError" in row["cause"]
    assert row["uiUrl"].startswith(f"http://127.0.0.1:{temporal_ui_port}/namespaces/default/")

    code, out, err = await scripe(stack, temporal_ui_port, "jobs", "show", jobs.retried_live)
    assert code == 0, err
    assert f"{jobs.retried_live}  DONE" in out and "runs       2" in out
    assert "customer   DONE, attempts 2" in out

    code, out, err = await scripe(
        stack, temporal_ui_port, "jobs", "retry", jobs.failed_live, "--json"
    )
    assert code == 0, err
    new_run_id = json.loads(out)["newRunId"]
    result = await stack.client.get_workflow_handle(jobs.failed_live, run_id=new_run_id).result()
    assert result["status"] == "DONE"

    code, out, err = await scripe(stack, temporal_ui_port, "jobs", "retry", jobs.test_p1)
    assert code == 1 and out == ""
    assert err.strip() == (
        f"error: {jobs.test_p1} is DONE (workflow completed); only FAILED jobs can be retried"
    )


# --- the stage operators read -------------------------------------------------------------------


async def test_stages_follow_job_status_and_a_failure_keeps_its_memo(
    stack: Stack, tenant: Tenant, jobs: Jobs
) -> None:
    """No memo on DONE jobs (the lean workflow): the stage comes from JobStatus; a FAILED
    job's failure memo still says which code and why."""
    ws = tenant.workspace_id
    all_of_ws = {jobs.test_p1, jobs.test_p2, jobs.failed_live, jobs.retried_live}
    await found(stack, JobFilter(workspace_id=ws), all_of_ws)
    runs = {
        run.job_id: run
        for run in await OperatorJobs(client=stack.client, ui_url="http://ui").find(
            JobFilter(workspace_id=ws)
        )
    }
    assert runs[jobs.test_p1].memo == {} and runs[jobs.test_p1].stage == "Finished: DONE"
    assert runs[jobs.retried_live].stage == "Finished: DONE"
    failed = runs[jobs.failed_live]
    assert failed.stage == "Failed: provider_rejected"
    assert failed.memo["errorCode"] == "provider_rejected"


async def test_show_of_a_running_job_reads_its_current_details(
    stack: Stack, tenant: Tenant, llm: FakeLlm
) -> None:
    llm.fake.latency_ms = 5000  # the job waits for its post while the operator looks
    job = await done_job(stack, tenant, "live", wait_ms=0)
    operator = OperatorJobs(client=stack.client, ui_url="http://ui")

    async def running() -> bool:
        run = (await operator.show(job["id"])).current
        return run.job_status == "RUNNING"

    await eventually(running)
    details = await operator.show(job["id"])
    assert details.current.stage == "Running"  # what `scripe jobs list` shows, no query
    assert details.stage == "Writing the post in the project's voice"
    await stack.client.get_workflow_handle(job["id"]).result()
    done = await operator.show(job["id"])
    assert done.current_details is None and done.stage == "Finished: DONE"


async def test_show_of_a_job_no_worker_answers_for_falls_back_to_its_job_status(
    stack: Stack,
) -> None:
    # Nobody polls this queue: the job stays QUEUED and its metadata query goes unanswered.
    queued = PostGenerationInput(
        job_id=new_id("job"),
        workspace_id="ws_a",
        mode=JobMode.TEST,
        project_id="proj_a",
        source=SourceSpec(text="Retention."),
        estimate_nanos=1,
    )
    jobs = TemporalJobs(
        client=stack.client, task_queue=f"nobody-{uuid.uuid4().hex}", admission_timeout=0.2
    )
    assert (await jobs.admit(queued)).outcome == "pending"

    details = await OperatorJobs(client=stack.client, ui_url="http://ui").show(queued.job_id)

    assert details.current.execution_status == "RUNNING"
    assert details.current_details is None and details.stage == "Waiting for admission"
    await stack.client.get_workflow_handle(queued.job_id).terminate("test over")
