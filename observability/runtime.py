"""The worker's Temporal runtime: Prometheus metrics and Core logs through Python logging.

The SDK's own metrics (task latencies, slots, polls, activity and workflow outcomes) and
our job metrics (recorded with ``activity.metric_meter()`` / ``workflow.metric_meter()``,
see ``activities/metrics.py`` and ``workflows/metrics.py``) share one endpoint:
``http://<SCRIPE_WORKER_METRICS_HOST>:<SCRIPE_WORKER_METRICS_PORT>/metrics``.
"""

from __future__ import annotations

import logging

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from config import Settings

# Provider calls take seconds, up to SCRIPE_LLM_TIMEOUT_SECONDS (≤ 600 s).
LLM_LATENCY_BUCKETS_MS = (250, 500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 60_000, 120_000)


def worker_runtime(settings: Settings) -> Runtime:
    """A runtime for one worker process. Port 0 turns the metrics endpoint off."""
    metrics = None
    if settings.worker_metrics_address:
        metrics = PrometheusConfig(
            bind_address=settings.worker_metrics_address,
            histogram_bucket_overrides={"scripe_llm_request_latency": LLM_LATENCY_BUCKETS_MS},
        )
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=metrics,
            # Core's own warnings go through Python logging, so they are JSON lines too.
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
        )
    )
