"""The post-generation job as a Temporal workflow."""

from __future__ import annotations

import asyncio

from temporalio import exceptions, workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.llm import LlmActivities
    from activities.posts import PostActivities
    from activities.source import SourceActivities
    from activities.spend import SpendActivities
    from contracts import (
        GENERATION_FAILED,
        JOB_ALREADY_FINISHED,
        JOB_ERROR_MESSAGES,
        JOB_WORKFLOW_TYPE,
        PROVIDER_UNAVAILABLE,
        SA_JOB_STATUS,
        SOURCE_UNREACHABLE,
        SPEND_CAP_EXCEEDED,
        Admission,
        AdmitRequest,
        CompleteJobInput,
        FetchSourceInput,
        FinishedJob,
        GeneratePostInput,
        JobOutcome,
        JobStatus,
        PostGenerationInput,
        ReserveSpendInput,
        SettledJob,
        SettleJobInput,
    )
    from domain.job_lifecycle import READING_SOURCE, WRITING
    from workflows import metrics, operator_view, policies

# Behaviour changes made while jobs were in flight, each guarded by ``workflow.patched`` so
# histories recorded before it still replay (the procedure: docs/versioning.md).
# A job whose row is finished already (an operator reset of a DONE job) ends as the row
# says, without generating and without touching the row.
PATCH_FINISHED_JOB = "finished-job-ends-as-recorded"
# Temporal cancellation anywhere settles the job CANCELLED (billed calls stay charged, the
# rest of the reservation is released) and the workflow ends Canceled.
PATCH_CANCEL_SETTLES = "cancel-settles-the-job"
# A FAILED job's workflow ends Failed with the job's errorCode as the failure type, so the
# Web UI's status filter and Failures count show it (the job row is unchanged).
PATCH_FAILED_JOB_FAILS = "failed-job-fails-the-workflow"
# Webhook events are emitted (the child workflow started) only when the job's settling
# transaction found an enabled endpoint subscribed to them.
PATCH_EMIT_ONLY_SUBSCRIBED = "webhook-events-only-when-subscribed"
# The lean job (v4): one patch marker per run instead of one per patch (every patch above,
# and "webhook-events", applies without its own marker and TemporalChangeVersion upsert),
# and no memo upsert except a FAILED job's failure memo: RUNNING and the other final
# statuses publish the JobStatus search attribute and current details only (operators'
# stage is derived from JobStatus, services/operator_jobs.py). Decided once per run, at the
# first point where the shapes differ: see ``_lean``.
PATCH_LEAN_JOB = "lean-job-events"


@workflow.defn(name=JOB_WORKFLOW_TYPE)
class PostGenerationWorkflow:
    """One job: admit, (fetch the URL), write in the project's voice, store and settle.

    Update ``admit``: reserves the job's spend estimate (once per job) and returns the
    admission; the API sends it together with the start (update-with-start) and answers the
    customer from it. A refusal fails the update with ``spend_cap_exceeded``.

    No queries or signals: customers read the job row in the application database, which
    every step keeps current; operators read ``JobStatus``, the current details and, for a
    FAILED job, the failure memo.

    How the workflow closes: DONE, CANCELLED before admission and REFUSED complete with the
    ``JobOutcome``; a FAILED job fails with its errorCode as the failure type (the outcome
    in the failure's details); a cancelled RUNNING job settles CANCELLED and ends Canceled.
    """

    @workflow.init
    def __init__(self, job: PostGenerationInput) -> None:
        self._job = job
        self._admission: Admission | None = None
        self._admitting = False
        self._failure_cause: str | None = None
        # From the job's final local activity; None when the job ended without one (a reset
        # of a finished job), and then the child decides as before.
        self._webhook_subscribers: bool | None = None

    @workflow.run
    async def run(self, job: PostGenerationInput) -> JobOutcome:
        try:
            outcome = await self._run_job()
        except BaseException as err:
            # Cancelled (Web UI, CLI, or POST /v1/jobs/{id}/cancel on a RUNNING job) while
            # any step was in flight: settle, then end Canceled by re-raising.
            cancelled = is_cancelled_exception(err) or _cancel_requested()
            if not cancelled or not self._patched(PATCH_CANCEL_SETTLES):
                raise
            outcome = await self._settle_cancelled()
            if outcome.status is JobStatus.CANCELLED:
                self._finish(outcome)
                # Ends the workflow Canceled, also when the step in flight failed anyway.
                raise asyncio.CancelledError() from err
        self._finish(outcome)
        await self._emit_webhook_events(outcome)  # webhooks (see _emit_webhook_events)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if (
            outcome.status is JobStatus.FAILED
            and outcome.error_code is not None
            and self._patched(PATCH_FAILED_JOB_FAILS)
        ):
            raise ApplicationError(
                JOB_ERROR_MESSAGES.get(outcome.error_code, outcome.error_code),
                outcome.model_dump(mode="json"),
                type=outcome.error_code,
                non_retryable=True,
            )
        return outcome

    async def _run_job(self) -> JobOutcome:
        # Admit at once: when the API's update arrives with the start (the usual case) its
        # handler joins this same reservation; a run started without it (after an admission
        # timeout, or by an operator's reset) needs no update at all.
        admission = await self._ensure_admitted()
        if admission.outcome == "accepted":
            return await self._generate()
        if admission.outcome == "refused":
            return JobOutcome(status=admission.job_status, error_code=SPEND_CAP_EXCEEDED)
        if admission.outcome == "finished" and self._patched(PATCH_FINISHED_JOB):
            return JobOutcome(status=JobStatus.DONE, post_id=admission.post_id)
        return JobOutcome(status=JobStatus.CANCELLED)

    def _finish(self, outcome: JobOutcome) -> None:
        metrics.record_outcome(outcome, mode=self._job.mode)
        self._publish_outcome(outcome)

    async def _settle_cancelled(self) -> JobOutcome:
        """The cancelled job's settlement; a row that finished first keeps its outcome."""
        try:
            await self._settle(SettleJobInput(job_id=self._job.job_id, status=JobStatus.CANCELLED))
        except ApplicationError as err:
            finished = _already_finished(err)
            if finished is None:
                raise
            return finished
        return JobOutcome(status=JobStatus.CANCELLED)

    # Registered as ``contracts.ADMIT_UPDATE`` ("admit", the method's name; the bare
    # decorator keeps the method's type for typed callers such as the test harness).
    @workflow.update
    async def admit(self, request: AdmitRequest) -> Admission:
        admission = await self._ensure_admitted()
        if admission.outcome == "refused":
            raise ApplicationError(
                JOB_ERROR_MESSAGES[SPEND_CAP_EXCEEDED],
                admission.refusal.model_dump(mode="json") if admission.refusal else None,
                type=SPEND_CAP_EXCEEDED,
                non_retryable=True,
            )
        return admission

    async def _ensure_admitted(self) -> Admission:
        """Run the reservation once, whoever asks first (the run or the update)."""
        if self._admission is None and not self._admitting:
            self._admitting = True
            self._admission = await workflow.execute_local_activity_method(
                SpendActivities.reserve,
                ReserveSpendInput(
                    job_id=self._job.job_id,
                    run_id=workflow.info().run_id,
                    workspace_id=self._job.workspace_id,
                    mode=self._job.mode,
                    estimate_nanos=self._job.estimate_nanos,
                    bucket_date=workflow.now().date(),
                ),
                **policies.DB_STEP,
            )
        await workflow.wait_condition(lambda: self._admission is not None)
        assert self._admission is not None
        return self._admission

    async def _generate(self) -> JobOutcome:
        """Fetch the URL if the source is one, write the post, store it and settle (the
        writing activity stores and settles in its charge's transaction)."""
        job = self._job
        try:
            source_text = job.source.text or ""
            if job.source.url:
                self._publish(JobStatus.RUNNING, READING_SOURCE.operator_stage)
                fetched = await workflow.execute_activity_method(
                    SourceActivities.fetch_source,
                    FetchSourceInput(job_id=job.job_id, url=job.source.url),
                    **policies.URL_FETCH,
                )
                source_text = fetched.text
            self._publish(JobStatus.RUNNING, WRITING.operator_stage)
            post = await workflow.execute_activity_method(
                LlmActivities.generate_post,
                GeneratePostInput(
                    job_id=job.job_id,
                    workspace_id=job.workspace_id,
                    mode=job.mode,
                    project_id=job.project_id,
                    source_text=source_text,
                    options=job.options,
                    store_post=True,
                    scheduled_for=job.scheduled_for,
                ),
                **policies.LLM_CALL,
                **policies.WAIT_FOR_CANCELLATION,
            )
            post_id, self._webhook_subscribers = post.post_id, post.webhook_subscribers
            if post_id is None:
                # Written by an activity that did not store it (an input scheduled before
                # ``store_post``, or an older worker's result): store it and settle here.
                # Decided from the recorded result, so a replay takes the same branch.
                completed = await workflow.execute_local_activity_method(
                    PostActivities.complete_job,
                    CompleteJobInput(
                        job_id=job.job_id,
                        workspace_id=job.workspace_id,
                        mode=job.mode,
                        project_id=job.project_id,
                        title=post.title,
                        content=post.content,
                        language=post.language,
                        scheduled_for=job.scheduled_for,
                    ),
                    **policies.DB_STEP,
                )
                post_id, self._webhook_subscribers = (
                    completed.post_id,
                    completed.webhook_subscribers,
                )
        except (ActivityError, ApplicationError) as err:
            # Activities fail with ActivityError (cause: the ApplicationError); local
            # activities hand the ApplicationError over directly.
            # A step that stops for the cancellation fails with a CancelledError; one whose
            # attempt failed anyway while the cancellation was pending (a provider timeout)
            # is not retried by Temporal: either way the job is cancelled, not failed.
            if (is_cancelled_exception(err) or _cancel_requested()) and self._patched(
                PATCH_CANCEL_SETTLES
            ):
                raise
            finished = _already_finished(err)
            if finished is not None and self._patched(PATCH_FINISHED_JOB):
                return finished
            code = _error_code(err)
            self._failure_cause = operator_view.failure_cause(err)
            workflow.logger.warning("job failed with %s: %s", code, self._failure_cause)
            try:
                settled = await self._settle(
                    SettleJobInput(
                        job_id=job.job_id,
                        status=JobStatus.FAILED,
                        error_code=code,
                        error_message=JOB_ERROR_MESSAGES[code],
                    )
                )
                self._webhook_subscribers = settled.webhook_subscribers
            except ApplicationError as settle_err:
                finished = _already_finished(settle_err)
                if finished is None or not self._patched(PATCH_FINISHED_JOB):
                    raise
                return finished
            return JobOutcome(status=JobStatus.FAILED, error_code=code)
        return JobOutcome(status=JobStatus.DONE, post_id=post_id)

    # --- webhooks: begin ------------------------------------------------------------------
    async def _emit_webhook_events(self, outcome: JobOutcome) -> None:
        """Hand the finished job's events to WebhookEventsWorkflow (docs/webhooks.md).

        The job row is final by now; the child runs on the webhook task queue and is
        abandoned, so the job waits only for it to start, never for a delivery. Its id
        derives from the job id: a reset or retry of this job cannot emit twice.
        """
        from temporalio.common import WorkflowIDReusePolicy

        from contracts import JobEventsInput, job_events_workflow_id, webhook_task_queue

        if outcome.status not in (JobStatus.DONE, JobStatus.FAILED):
            return
        if not self._patched("webhook-events"):
            return
        if self._webhook_subscribers is False and self._patched(PATCH_EMIT_ONLY_SUBSCRIBED):
            return  # no endpoint wanted these events when the job finished
        try:
            await workflow.start_child_workflow(
                "WebhookEventsWorkflow",
                JobEventsInput(
                    job_id=self._job.job_id,
                    workspace_id=self._job.workspace_id,
                    mode=self._job.mode,
                ),
                id=job_events_workflow_id(self._job.job_id),
                task_queue=webhook_task_queue(workflow.info().task_queue),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except exceptions.WorkflowAlreadyStartedError:
            pass  # emitted by an earlier run of this job

    # --- webhooks: end --------------------------------------------------------------------

    async def _settle(self, request: SettleJobInput) -> SettledJob:
        return await workflow.execute_local_activity_method(
            SpendActivities.settle, request, **policies.DB_STEP
        )

    def _lean(self) -> bool:
        """Whether this run takes the lean shape (``PATCH_LEAN_JOB``), decided once.

        Asked first wherever the shapes differ: before the job's first JobStatus upsert
        (``_publish``, ``_publish_outcome``) and before any older patch's decision
        (``_patched``: the reset of a finished job, a cancel during admission). So a new
        run's marker (and the TemporalChangeVersion upsert that comes with it) lands right
        before its first JobStatus upsert or that decision, in the same workflow task. A
        replay of a v1–v3 history has no such marker: False, memoized by the SDK for the
        whole run, and the run takes the old path exactly, older ``patched`` calls included.
        """
        return workflow.patched(PATCH_LEAN_JOB)

    def _patched(self, patch_id: str) -> bool:
        """An older patch's decision: on without a marker of its own in a lean run, asked
        of ``workflow.patched`` (marker and all, as before) otherwise."""
        return self._lean() or workflow.patched(patch_id)

    def _publish(self, status: JobStatus, stage: str) -> None:
        """What operators see in the Web UI: JobStatus (searchable) and current details;
        a run from before the lean patch also upserts the memo (status, stage)."""
        lean = self._lean()  # before the upsert: where a lean run's marker lands
        workflow.upsert_search_attributes([SA_JOB_STATUS.value_set(status.value)])
        if not lean:
            workflow.upsert_memo({"status": status.value, "stage": stage})
        workflow.set_current_details(stage)

    def _publish_outcome(self, outcome: JobOutcome) -> None:
        """The final state; a failure says why (code, customer message, operator cause)."""
        if outcome.status is not JobStatus.FAILED or outcome.error_code is None:
            self._publish(outcome.status, f"Finished: {outcome.status.value}")
            return
        code, message = outcome.error_code, JOB_ERROR_MESSAGES[outcome.error_code]
        self._lean()  # the same marker position as ``_publish`` (a refusal after a 202)
        workflow.upsert_search_attributes([SA_JOB_STATUS.value_set(outcome.status.value)])
        workflow.upsert_memo(
            operator_view.failure_memo(code=code, message=message, cause=self._failure_cause)
        )
        workflow.set_current_details(
            operator_view.failure_details(
                job_id=self._job.job_id, code=code, message=message, cause=self._failure_cause
            )
        )


def _error_code(err: ActivityError | ApplicationError) -> str:
    """The job's public errorCode: the activity's failure type when it is a documented one."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError) and cause.type in JOB_ERROR_MESSAGES:
        return cause.type
    if isinstance(err, ActivityError) and isinstance(cause, exceptions.TimeoutError):
        return SOURCE_UNREACHABLE if err.activity_type == "fetch_source" else PROVIDER_UNAVAILABLE
    return GENERATION_FAILED


def _already_finished(err: ActivityError | ApplicationError) -> JobOutcome | None:
    """The outcome a ``job_already_finished`` failure reports, if that is what ``err`` is."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if not isinstance(cause, ApplicationError) or cause.type != JOB_ALREADY_FINISHED:
        return None
    details = cause.details[0] if cause.details else None
    finished = FinishedJob.model_validate(details) if isinstance(details, dict) else None
    if finished is None:
        return JobOutcome(status=JobStatus.FAILED, error_code=GENERATION_FAILED)
    return JobOutcome(
        status=finished.status, post_id=finished.post_id, error_code=finished.error_code
    )


def _cancel_requested() -> bool:
    """Whether the workflow was asked to cancel (the SDK cancels the run's task then, even
    when the step it awaited ended otherwise). Replays the same: it comes from history."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
