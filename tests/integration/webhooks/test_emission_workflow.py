"""The job workflow hands its events to WebhookEventsWorkflow once it is final, without
waiting for any delivery; a second run of the same job emits nothing twice.

Runs PostGenerationWorkflow in the time-skipping server with the mocked activities of
tests/integration/workflows/test_post_generation.py; nothing polls the webhook queue, which is the
point: the job finishes whatever the deliveries do.
"""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts import (
    PROVIDER_REJECTED,
    Admission,
    JobEventsInput,
    JobStatus,
    job_events_workflow_id,
    webhook_task_queue,
)
from tests.utils.outcomes import job_outcome
from tests.utils.workflow_harness import Harness
from workflows.post_generation import PostGenerationWorkflow


async def test_a_done_job_starts_its_events_workflow_on_the_webhook_queue(
    harness: Harness,
) -> None:
    job = harness.job()
    _, handle = await harness.admit_and_run(job)
    outcome = await handle.result()  # no webhook worker runs: the job does not wait for one
    assert outcome.status is JobStatus.DONE
    events = harness.env.client.get_workflow_handle(job_events_workflow_id(job.job_id))
    described = await events.describe()
    assert described.workflow_type == "WebhookEventsWorkflow"
    assert described.task_queue == webhook_task_queue(harness.task_queue)
    assert described.status == WorkflowExecutionStatus.RUNNING  # abandoned, still waiting
    history = await events.fetch_history()
    [started] = [
        e for e in history.events if e.HasField("workflow_execution_started_event_attributes")
    ]
    payload = started.workflow_execution_started_event_attributes.input.payloads[0].data
    assert JobEventsInput.model_validate_json(payload) == JobEventsInput(
        job_id=job.job_id, workspace_id=job.workspace_id, mode=job.mode
    )
    await events.terminate()


async def test_a_failed_job_emits_and_a_cancelled_one_does_not(
    harness: Harness,
) -> None:
    harness.script.generate_errors = [
        ApplicationError("no", type=PROVIDER_REJECTED, non_retryable=True)
    ]
    failed = harness.job()
    _, handle = await harness.admit_and_run(failed)
    # A FAILED job's workflow ends Failed (docs/versioning.md): its outcome is in the failure.
    assert (await job_outcome(handle)).status is JobStatus.FAILED
    events = harness.env.client.get_workflow_handle(job_events_workflow_id(failed.job_id))
    assert (await events.describe()).workflow_type == "WebhookEventsWorkflow"
    await events.terminate()

    harness.script.admission = Admission(outcome="cancelled", job_status=JobStatus.CANCELLED)
    cancelled = harness.job()
    _, handle = await harness.admit_and_run(cancelled)
    assert (await handle.result()).status is JobStatus.CANCELLED
    with pytest.raises(RPCError) as raised:
        await harness.env.client.get_workflow_handle(
            job_events_workflow_id(cancelled.job_id)
        ).describe()
    assert raised.value.status is RPCStatusCode.NOT_FOUND


async def test_a_second_run_of_the_job_does_not_emit_again(
    harness: Harness,
) -> None:
    job = harness.job()
    _, handle = await harness.admit_and_run(job)
    await handle.result()
    events = harness.env.client.get_workflow_handle(job_events_workflow_id(job.job_id))
    first_run = (await events.describe()).run_id
    await events.terminate()  # closed, as after its deliveries started

    # What an operator's retry does: the same job id, a new run of the job workflow.
    again = await harness.env.client.start_workflow(
        PostGenerationWorkflow.run,
        job,
        id=job.job_id,
        task_queue=harness.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    assert (await again.result()).status is JobStatus.DONE
    assert (await events.describe()).run_id == first_run  # not started a second time
