"""Process-wide logging: one handler on the root logger, JSON or text, from settings.

Every process entry point (``scripe api``, ``scripe worker``) calls
:func:`configure_logging` once, before it starts serving. Context that only one process
knows (the API's request and workspace ids) comes in as extra filters; the worker's
Temporal context (workflow id = job id, activity, attempt) is added by
:class:`TemporalContextFilter`. :class:`RedactSecrets` keeps API keys and bearer tokens out
of every line, whatever logged them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import IO, Any, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from temporalio import activity

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Record attributes that are never output: the standard ones, uvicorn's coloured copy of
# the message, and the raw Core record the Temporal runtime attaches to forwarded logs.
_HIDDEN = (*RESERVED_ATTRS, "taskName", "color_message", "temporal_log")
_SECRETS = re.compile(
    r"(scripe_sk_(?:live|test)_)[A-Za-z0-9_-]+"  # our API keys
    r"|(Bearer\s+)[^\s\"',]+"  # any bearer token
    r"|\b(sk-)[A-Za-z0-9_-]{16,}"  # OpenAI-style provider keys
)


class RedactSecrets(logging.Filter):
    """Masks API keys and bearer tokens in the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        redacted = _SECRETS.sub(_mask, message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class TemporalContextFilter(logging.Filter):
    """Flattens the Temporal context into top-level fields: ``workflow_id`` (which is the
    job id, also given as ``job_id``), ``run_id``, ``activity_type``, ``attempt``.

    ``workflow.logger`` and ``activity.logger`` attach it as a dict; any other logger
    called inside an activity gets it from the running activity.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        fields: dict[str, Any] = {}
        info = getattr(record, "temporal_workflow", None) or getattr(
            record, "temporal_activity", None
        )
        if isinstance(info, dict):
            fields = info
        elif activity.in_activity():
            current = activity.info()
            fields = {
                "workflow_id": current.workflow_id,
                "workflow_run_id": current.workflow_run_id,
                "activity_type": current.activity_type,
                "attempt": current.attempt,
            }
        workflow_id = fields.get("workflow_id")
        if workflow_id:
            record.workflow_id = workflow_id
            record.job_id = workflow_id
            record.run_id = fields.get("run_id") or fields.get("workflow_run_id")
            for name in ("activity_type", "attempt"):
                if name in fields:
                    setattr(record, name, fields[name])
        return True


def _mask(match: re.Match[str]) -> str:
    prefix = next(group for group in match.groups() if group is not None)
    return f"{prefix}***"


def make_handler(
    log_format: Literal["json", "text"],
    *,
    filters: Iterable[logging.Filter] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """A stream handler (stderr by default) with our formatter, redaction and filters."""
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter: logging.Formatter
    if log_format == "json":
        formatter = JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=list(_HIDDEN),
            timestamp="time",
        )
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    for extra in filters:
        handler.addFilter(extra)
    return handler


def configure_logging(
    *, level: str, log_format: Literal["json", "text"], filters: Iterable[logging.Filter] = ()
) -> None:
    """Route every logger (ours, uvicorn's, the Temporal SDK's) to one handler on root."""
    root = logging.getLogger()
    root.handlers[:] = [make_handler(log_format, filters=filters)]
    root.setLevel(level)
    # Where a call was made from, and its thread and process: no line of ours prints them
    # (the JSON formatter leaves the standard attributes out, the text format names none),
    # so records skip computing them (the logging HOWTO's "Optimization" section): a tenth
    # of a line's cost in a loop of log calls (27 → 24 µs), small beside a request's.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    if log_format == "json":
        # The workflow and activity ids are fields of their own: keep messages readable.
        activity.logger.activity_info_on_message = False
        from temporalio import workflow

        workflow.logger.workflow_info_on_message = False
