"""TemporalJobs: what the API does in Temporal for a job, on the dev server."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from contracts import SA_JOB_STATUS, SA_WORKSPACE_ID, JobMode, PostGenerationInput, SourceSpec
from ids import new_id
from services.admission import TemporalJobs


def job() -> PostGenerationInput:
    return PostGenerationInput(
        job_id=new_id("job"),
        workspace_id="ws_a",
        mode=JobMode.TEST,
        project_id="proj_a",
        source=SourceSpec(text="Retention."),
        estimate_nanos=1,
    )


async def test_an_admission_that_timed_out_still_leaves_a_started_workflow(
    temporal_env: WorkflowEnvironment,
) -> None:
    # Nobody polls this queue: the update cannot be answered and the admission times out.
    jobs = TemporalJobs(
        client=temporal_env.client, task_queue=f"nobody-{uuid.uuid4().hex}", admission_timeout=0.2
    )
    queued = job()
    result = await jobs.admit(queued)
    assert result.outcome == "pending"
    described = await temporal_env.client.get_workflow_handle(queued.job_id).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    assert described.typed_search_attributes.get(SA_JOB_STATUS) == "QUEUED"
    assert described.typed_search_attributes.get(SA_WORKSPACE_ID) == "ws_a"
    assert await described.memo() == {}  # JobStatus says QUEUED; no memo to go stale
    assert await described.static_summary() == "Post generation · proj_a · text · test"


async def test_starting_is_idempotent_even_for_closed_jobs(
    temporal_env: WorkflowEnvironment,
) -> None:
    jobs = TemporalJobs(
        client=temporal_env.client, task_queue=f"nobody-{uuid.uuid4().hex}", admission_timeout=0.2
    )
    queued = job()
    await jobs._ensure_started(queued)
    first = await temporal_env.client.get_workflow_handle(queued.job_id).describe()
    await jobs._ensure_started(queued)
    again = await temporal_env.client.get_workflow_handle(queued.job_id).describe()
    assert again.run_id == first.run_id
    await temporal_env.client.get_workflow_handle(queued.job_id).terminate("test")
    await jobs._ensure_started(queued)  # closed: never a second run of the same job
    after = await temporal_env.client.get_workflow_handle(queued.job_id).describe()
    assert after.run_id == first.run_id and after.status == WorkflowExecutionStatus.TERMINATED
    assert (await jobs.admit(queued)).outcome == "closed"
