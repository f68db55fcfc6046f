"""Webhook events and deliveries as Temporal workflows, on the webhook task queue.

``WebhookEventsWorkflow`` (one per finished job, id ``webhook-events-<job id>``): records
the job's events and starts one ``WebhookDeliveryWorkflow`` per (event, endpoint), each
abandoned, so a slow endpoint holds up nothing but its own delivery.

``WebhookDeliveryWorkflow`` (id ``webhook-delivery-<delivery id>``): attempts until a 2xx,
a 410 (the endpoint is disabled) or three days of failures (the delivery fails; the
endpoint is disabled when nothing sent to it got through meanwhile), backing off
exponentially with jitter between attempts.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookActivities
    from contracts import (
        SA_WEBHOOK_DELIVERY_STATUS,
        DeliveryAttemptInput,
        DeliveryAttemptResult,
        DeliveryGiveUpInput,
        DeliveryStart,
        EmittedEvents,
        JobEventsInput,
        delivery_search_attributes,
        delivery_workflow_id,
    )
    from domain.webhooks import GIVE_UP_AFTER, max_retry_interval, retry_delay
    from workflows import policies

# One attempt: the HTTP call is bounded by SCRIPE_WEBHOOK_TIMEOUT_SECONDS (≤ 30 s) inside
# the activity; this outer bound only catches a worker that died mid-attempt. The workflow
# schedules every retry itself (with jitter), so the activity never retries on its own.
ATTEMPT_TIMEOUT = timedelta(seconds=60)
ATTEMPT_RETRY = RetryPolicy(maximum_attempts=1)


@workflow.defn(name="WebhookEventsWorkflow")
class WebhookEventsWorkflow:
    @workflow.run
    async def run(self, job: JobEventsInput) -> EmittedEvents:
        emitted: EmittedEvents = await workflow.execute_local_activity_method(
            WebhookActivities.record_job_events, job, **policies.DB_STEP
        )
        await asyncio.gather(*(self._start(d) for d in emitted.deliveries))
        return emitted

    async def _start(self, delivery: DeliveryStart) -> None:
        try:
            await workflow.start_child_workflow(
                WebhookDeliveryWorkflow.run,
                delivery,
                id=delivery_workflow_id(delivery.delivery_id),
                task_queue=workflow.info().task_queue,
                search_attributes=delivery_search_attributes(delivery),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # started before (a rerun of this workflow): that run delivers it


@workflow.defn(name="WebhookDeliveryWorkflow")
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, delivery: DeliveryStart) -> DeliveryAttemptResult:
        failing_since = workflow.now()
        attempts = 0
        # From the input, never from the environment: a replay must compute the same waits.
        cap = max_retry_interval(delivery.max_backoff_seconds)
        while True:
            result = await self._attempt(delivery)
            attempts += 1
            if result.outcome == "delivered":
                return self._finish("DELIVERED", result)
            if result.outcome in ("gone", "skipped"):
                return self._finish("FAILED", result)
            delay = retry_delay(attempts, workflow.random().random(), cap)
            if workflow.now() + delay - failing_since > GIVE_UP_AFTER:
                await workflow.execute_local_activity_method(
                    WebhookActivities.give_up,
                    DeliveryGiveUpInput(
                        delivery_id=delivery.delivery_id,
                        reason=f"no 2xx answer in {attempts} attempts over 3 days",
                        failing_since=failing_since,
                    ),
                    **policies.DB_STEP,
                )
                return self._finish("FAILED", result)
            workflow.set_current_details(
                f"Attempt {result.attempt} failed ({result.error}); next in {delay}"
            )
            await workflow.sleep(delay)

    async def _attempt(self, delivery: DeliveryStart) -> DeliveryAttemptResult:
        try:
            return await workflow.execute_activity_method(
                WebhookActivities.attempt_delivery,
                DeliveryAttemptInput(delivery_id=delivery.delivery_id),
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                retry_policy=ATTEMPT_RETRY,
            )
        except ActivityError as err:  # e.g. the worker died mid-attempt: try again later
            return DeliveryAttemptResult(outcome="retry", error=str(err.cause or err))

    def _finish(self, status: str, result: DeliveryAttemptResult) -> DeliveryAttemptResult:
        workflow.upsert_search_attributes([SA_WEBHOOK_DELIVERY_STATUS.value_set(status)])
        workflow.set_current_details(f"{status}: {result.error or result.status_code or ''}")
        return result
