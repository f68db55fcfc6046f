"""LLM metrics, recorded through the Temporal SDK's meter so that they are served on the
worker's one Prometheus endpoint next to the SDK's own metrics (a no-op without one).

* ``scripe_llm_request_latency`` (histogram, ms): provider calls by model and outcome
  (``ok`` or the failure type, e.g. ``provider_unavailable``);
* ``scripe_llm_tokens`` (counter): tokens by model, writer, mode and direction
  (``input``/``output``);
* ``scripe_llm_cost_nanodollars`` (counter): what the calls cost, as booked in the ledger.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts import JobMode, TokenUsage


@contextmanager
def timed_llm_call(*, model: str) -> Iterator[None]:
    """Record the duration and outcome of the provider call made inside the block."""
    started = time.monotonic()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except ApplicationError as err:
        outcome = err.type or "error"
        raise
    except asyncio.CancelledError:
        outcome = "cancelled"
        raise
    finally:
        activity.metric_meter().create_histogram_timedelta(
            "scripe_llm_request_latency", "Duration of LLM provider calls", "ms"
        ).record(
            timedelta(seconds=time.monotonic() - started), {"model": model, "outcome": outcome}
        )


def record_llm_usage(
    *, model: str, writer: str, mode: JobMode, usage: TokenUsage, cost_nanos: int
) -> None:
    """Count the tokens and the cost of one booked call."""
    meter = activity.metric_meter()
    attributes: dict[str, str | int | float | bool] = {
        "model": model,
        "writer": writer,
        "mode": mode.value,
    }
    tokens = meter.create_counter("scripe_llm_tokens", "LLM tokens booked")
    tokens.add(usage.input_tokens, {**attributes, "direction": "input"})
    tokens.add(usage.output_tokens, {**attributes, "direction": "output"})
    meter.create_counter(
        "scripe_llm_cost_nanodollars", "Cost of LLM calls as booked in the ledger (1e-9 USD)"
    ).add(cost_nanos, attributes)
