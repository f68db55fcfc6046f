"""Pure ASGI middleware: request ids, the body-size cap, and headers every response carries."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import request_id_var, workspace_id_var
from api.errors import error_response
from api.versioning import DEFAULT_VERSION, VERSION_HEADER, effective_version
from ids import new_id
from services.errors import PayloadTooLarge

BODY_LIMIT_BYTES = 256 * 1024


class RequestContextMiddleware:
    """Gives each request an id (``X-Request-Id``, logs, error bodies) and adds the headers
    every response carries: the request id, the effective API version and, once the
    workspace is known, the rate-limit headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req")
        # Not reset afterwards: each request runs in a task (and context) of its own, and
        # the 500 handler runs after this middleware has returned, still needing the id.
        request_id_var.set(request_id)
        workspace_id_var.set(None)
        state = scope.setdefault("state", {})
        version = effective_version(Headers(scope=scope).get(VERSION_HEADER)) or DEFAULT_VERSION

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                headers[VERSION_HEADER] = version
                decision = state.get("rate_limit")
                if decision is not None:
                    headers["X-RateLimit-Limit"] = str(decision.limit)
                    headers["X-RateLimit-Remaining"] = str(decision.remaining)
                    headers["X-RateLimit-Reset"] = str(decision.reset_seconds)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """413 ``payload_too_large`` for bodies over 256 KB, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = BODY_LIMIT_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _drain(receive)
            await error_response(Request(scope), PayloadTooLarge())(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise PayloadTooLarge()
            return message

        await self.app(scope, counting_receive, send)


async def _drain(receive: Receive) -> None:
    """Read the body we refuse, bounded, so the client sees our answer, not a reset."""
    total = 0
    while total < 8 * BODY_LIMIT_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        total += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
