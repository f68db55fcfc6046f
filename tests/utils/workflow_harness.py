"""The workflow under test with its activities mocked: ``Script`` answers for the real
activity names (so the workflow code is exactly production's) and records every call;
``Harness`` admits and runs jobs on the time-skipping test server. The ``harness`` fixture
(tests/integration/conftest.py) runs a worker for one test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts import (
    ADMIT_UPDATE_ID,
    PROVIDER_UNAVAILABLE,
    Admission,
    AdmitRequest,
    CompletedJob,
    CompleteJobInput,
    FetchedSource,
    FetchSourceInput,
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
    TokenUsage,
)
from workflows.post_generation import PostGenerationWorkflow

# Retry backoffs are server timers the test server does not skip: keep them short here.
QUICK = timedelta(milliseconds=10)
# The post ids the scripted steps answer with: stored by generate_post, or by complete_job.
STORED_POST_ID = "post_" + "s" * 26
COMPLETED_POST_ID = "post_" + "a" * 26


@dataclass
class Script:
    """What the mocked activities answer, and what they were called with."""

    admission: Admission = field(
        default_factory=lambda: Admission(outcome="accepted", job_status=JobStatus.RUNNING)
    )
    generate_errors: list[Exception] = field(default_factory=list)
    fetch_error: Exception | None = None
    complete_error: Exception | None = None
    # generate_post stores the post and settles the job when asked to (the activity since
    # ``store_post``); False: it answers as an older activity did, and complete_job runs.
    stores_post: bool = True
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
                post_id=STORED_POST_ID if self.stores_post and request.store_post else None,
            )

        @activity.defn(name="complete_job")
        async def complete_job(request: CompleteJobInput) -> CompletedJob:
            self.calls.append(("complete_job", request))
            if self.complete_error:
                raise self.complete_error
            return CompletedJob(post_id=COMPLETED_POST_ID, estimate_nanos=50, actual_nanos=5)

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
