"""Per-request context that logs and error handlers need outside the route."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="req_unknown")
workspace_id_var: ContextVar[str | None] = ContextVar("workspace_id", default=None)
