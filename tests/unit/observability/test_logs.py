"""The log handler every process installs: JSON fields, secrets masked, Temporal context."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from observability.logs import TemporalContextFilter, make_handler


def emit(handler: logging.Handler, message: str, *args: object, **extra: Any) -> str:
    record = logging.LogRecord("scripe.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    handler.handle(record)
    stream = handler.stream  # type: ignore[attr-defined]
    assert isinstance(stream, io.StringIO)
    return stream.getvalue().splitlines()[-1]


def test_json_lines_have_level_logger_message_time_and_extras() -> None:
    line = json.loads(emit(make_handler("json", stream=io.StringIO()), "n=%d", 3, job="x"))
    assert line["level"] == "WARNING" and line["logger"] == "scripe.test"
    assert line["message"] == "n=3" and line["job"] == "x" and line["time"].endswith("+00:00")
    assert "args" not in line and "msg" not in line


def test_keys_and_bearer_tokens_are_masked_in_messages_and_arguments() -> None:
    handler = make_handler("json", stream=io.StringIO())
    line = json.loads(
        emit(
            handler,
            "auth %s failed for %s with Authorization: Bearer %s",
            "scripe_sk_live_AbC123xyz",
            "sk-proj-abcdefghijklmnopqrstuv",
            "tok.en-123",
        )
    )
    assert line["message"] == (
        "auth scripe_sk_live_*** failed for sk-*** with Authorization: Bearer ***"
    )
    # Words that merely contain "sk-" are left alone.
    assert json.loads(emit(handler, "risk-assessment done"))["message"] == "risk-assessment done"


def test_temporal_context_becomes_top_level_fields() -> None:
    handler = make_handler("json", filters=[TemporalContextFilter()], stream=io.StringIO())
    activity_line = json.loads(
        emit(
            handler,
            "calling",
            temporal_activity={
                "workflow_id": "job_1",
                "workflow_run_id": "run-1",
                "activity_type": "generate_post",
                "attempt": 2,
            },
        )
    )
    assert activity_line["job_id"] == activity_line["workflow_id"] == "job_1"
    assert activity_line["run_id"] == "run-1"
    assert activity_line["activity_type"] == "generate_post" and activity_line["attempt"] == 2
    workflow_line = json.loads(
        emit(handler, "done", temporal_workflow={"workflow_id": "job_2", "run_id": "run-2"})
    )
    assert workflow_line["job_id"] == "job_2" and workflow_line["run_id"] == "run-2"
    assert "job_id" not in json.loads(emit(handler, "outside any job"))


def test_text_format_is_one_plain_line() -> None:
    line = emit(make_handler("text", stream=io.StringIO()), "hello %s", "world")
    assert line.endswith("WARNING scripe.test hello world")
