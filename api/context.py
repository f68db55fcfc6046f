"""Per-request context that logs and error handlers need outside the route."""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="req_unknown")
workspace_id_var: ContextVar[str | None] = ContextVar("workspace_id", default=None)


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``workspace_id`` to log records made while serving a request
    (whatever logger made them); records made outside requests get neither."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get(None)
        if request_id is not None:
            record.request_id = request_id
            workspace_id = workspace_id_var.get()
            if workspace_id is not None:
                record.workspace_id = workspace_id
        return True
