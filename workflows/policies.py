"""Timeouts and retry policies of every step, named so they can be read and tuned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

from contracts import NON_RETRYABLE_ERROR_TYPES

# Short database steps run as local activities: no extra workflow task, a few ms each.
# Transient errors are retried inside each attempt for a few seconds, then by Temporal for
# up to five minutes in all: a 60 s outage loses no job, and nothing retries forever.
# Permanent errors fail at once (``storage_rejected``, not retryable).
DB_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=15),
    "schedule_to_close_timeout": timedelta(minutes=5),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=0,
        non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
    ),
}

# The LLM call: the client times out first (SCRIPE_LLM_TIMEOUT_SECONDS, ≤ 600 s); the
# heartbeat (sent for the whole attempt, database steps included) notices a dead worker
# within seconds; five attempts in at most 30 minutes. Each database step of an attempt
# retries a transient error inside the attempt for up to 150 s (db/retry.py).
LLM_CALL: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=11),
    "schedule_to_close_timeout": timedelta(minutes=30),
    "heartbeat_timeout": timedelta(seconds=20),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=5,
        non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
    ),
}

# Fetching a URL source: bounded by SCRIPE_URL_FETCH_TIMEOUT_SECONDS (≤ 120 s) per attempt.
URL_FETCH: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=3),
    "schedule_to_close_timeout": timedelta(minutes=10),
    "heartbeat_timeout": timedelta(seconds=20),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=20),
        maximum_attempts=4,
        non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
    ),
}

# How a step in flight reacts to the job's cancellation: the workflow waits until the
# activity has stopped (through its heartbeat) before it settles, so whatever the step
# billed is booked before the rest of the reservation is released.
WAIT_FOR_CANCELLATION: dict[str, Any] = {
    "cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
}
