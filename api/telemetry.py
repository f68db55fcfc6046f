"""Pure ASGI middleware that measures every request: Prometheus metrics and one access
log line (method, route, status, duration; the request and workspace ids come from the
log filter in ``api/context.py``)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import ApiMetrics

access_log = logging.getLogger("scripe.api.access")

UNMATCHED = "unmatched"
# Probes and scrapes arrive every few seconds: their access lines are DEBUG, not INFO.
QUIET_ROUTES = frozenset({"/v1/health", "/metrics"})


class RequestTelemetryMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            method, route = scope["method"], route_template(scope)
            self.metrics.record_request(method, route, status, elapsed)
            access_log.log(
                logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
                '"%s %s" %d in %.1f ms',
                method,
                scope["path"],
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )


def route_template(scope: Scope) -> str:
    """The matched route's template (``/v1/jobs/{job_id}``), rebuilt from the path and its
    parameters so it does not depend on how the router nests; ``unmatched`` when no route
    matched, so unknown paths cannot grow the label set."""
    if "endpoint" not in scope:
        return UNMATCHED
    names = {str(value): name for name, value in scope.get("path_params", {}).items()}
    return "/".join(
        f"{{{names[segment]}}}" if segment in names else segment
        for segment in str(scope["path"]).split("/")
    )
