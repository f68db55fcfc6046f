"""``python -m devtools.bench.instrument worker|api``: the worker or the API as the stack
runs it, with counters on what a job costs inside the process, for ``devtools.bench.counts``.

Counted, process-wide, from before the product's modules are imported:

* ``transactions``: SQLAlchemy transactions begun (``begin`` on every engine), and
  ``statements``: statements sent to the database driver;
* ``json_encodes`` / ``json_decodes``: calls of the standard library's ``json.dumps`` and
  ``json.loads`` (what the Temporal SDK's JSON converter, python-json-logger, the bench's
  own HTTP bodies and FastAPI's responses use; pydantic's Rust serializer is not in it);
* ``payloads_encoded`` / ``payloads_decoded``: Temporal payloads through the data
  converter (workflow and activity arguments, results, update results, memo values);
* ``log_lines``: records a stream handler wrote (after the level and the filters).

The counts go to ``$SCRIPE_BENCH_COUNTS_FILE`` as JSON twice a second (a daemon thread),
so the caller reads them before and after a stretch of jobs and takes the difference.
Nothing here changes what the process does; it only counts.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

COUNTS_FILE_ENV = "SCRIPE_BENCH_COUNTS_FILE"
_counts: Counter[str] = Counter()
_dumps = json.dumps  # the snapshots themselves are not counted


def _counting(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        _counts[name] += 1
        return function(*args, **kwargs)

    return counted


def install() -> None:
    """Wrap the counted calls. Must run before the product imports json users."""
    json.dumps = _counting("json_encodes", json.dumps)
    json.loads = _counting("json_decodes", json.loads)

    emit = logging.StreamHandler.emit

    def counted_emit(self: logging.StreamHandler[Any], record: logging.LogRecord) -> None:
        _counts["log_lines"] += 1
        emit(self, record)

    logging.StreamHandler.emit = counted_emit  # type: ignore[method-assign,assignment]

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_begin(_conn: Any) -> None:
        _counts["transactions"] += 1

    def on_statement(*_args: Any) -> None:
        _counts["statements"] += 1

    event.listen(Engine, "begin", on_begin)
    event.listen(Engine, "before_cursor_execute", on_statement)

    from temporalio.converter import CompositePayloadConverter

    to_payloads = CompositePayloadConverter.to_payloads
    from_payloads = CompositePayloadConverter.from_payloads

    def counted_to(self: CompositePayloadConverter, values: Any) -> Any:
        payloads = to_payloads(self, values)
        _counts["payloads_encoded"] += len(payloads)
        return payloads

    def counted_from(self: CompositePayloadConverter, payloads: Any, *a: Any, **k: Any) -> Any:
        _counts["payloads_decoded"] += len(payloads)
        return from_payloads(self, payloads, *a, **k)

    CompositePayloadConverter.to_payloads = counted_to  # type: ignore[method-assign]
    CompositePayloadConverter.from_payloads = counted_from  # type: ignore[method-assign]


def _dump_forever(path: Path) -> None:
    while True:
        snapshot = dict(_counts)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(_dumps(snapshot))
        tmp.replace(path)
        time.sleep(0.5)


def read_counts(path: Path) -> dict[str, int]:
    """The last snapshot a process wrote (empty before its first)."""
    try:
        loaded: dict[str, int] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded


def main() -> None:
    role = sys.argv[1]
    install()
    path = os.environ.get(COUNTS_FILE_ENV)
    if path:
        threading.Thread(target=_dump_forever, args=(Path(path),), daemon=True).start()
    if role == "worker":
        import worker

        worker.main()
    elif role == "api":
        from cli.main import run_api

        run_api()
    else:
        sys.exit(f"unknown role {role!r}: worker or api")


if __name__ == "__main__":
    main()
