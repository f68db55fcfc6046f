"""Prometheus metrics of the API, served at ``GET /metrics`` (text exposition format).

One registry per app (no module globals), so every app, and every test, counts its own.
Serve one process per container and scale with replicas: each replica is scraped.

* ``scripe_api_requests_total{method, route, status}``: ``route`` is the route template
  (``/v1/jobs/{job_id}``), ``unmatched`` for unknown paths, so labels stay bounded;
* ``scripe_api_request_duration_seconds{method, route}``: latency histogram;
* ``scripe_api_requests_in_flight``: requests being served (watch it drain on shutdown);
* ``scripe_api_admissions_total{outcome}``: ``admitted``, ``refused`` (402 spend cap),
  ``pending`` (no worker answered in time: 202 QUEUED) or ``closed``;
* ``scripe_api_rate_limited_total``: requests refused with 429.
"""

from __future__ import annotations

from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "scripe_api_requests",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "scripe_api_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "scripe_api_requests_in_flight", "HTTP requests being served", registry=self.registry
        )
        self.admissions = Counter(
            "scripe_api_admissions",
            "Job admissions by outcome (admitted, refused, pending, closed)",
            ["outcome"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "scripe_api_rate_limited", "Requests refused by the rate limit", registry=self.registry
        )
        # The labelled children of every (method, route, status) seen so far: ``labels()``
        # validates, joins and locks on each call, and every request would pay it twice.
        # Bounded like the labels themselves (route templates × status codes).
        self._per_request: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def record_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._per_request.get(key)
        if children is None:
            children = (
                self.requests.labels(method=method, route=route, status=str(status)),
                self.latency.labels(method=method, route=route),
            )
            self._per_request[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def record_admission(self, outcome: str) -> None:
        self.admissions.labels(outcome=outcome).inc()

    async def endpoint(self) -> Response:
        """The exposition, for Prometheus to scrape."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
