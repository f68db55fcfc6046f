"""The polled read runs on the event loop only: FastAPI runs a plain ``def`` dependency in a
thread pool, a thread hop per request on the hottest route (BENCHMARKS.md, "Where the time
goes")."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant

from api.routes.jobs import get_job


def _calls(dependant: Dependant) -> list[Any]:
    found = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found += _calls(sub)
    return found


def _runs_on_the_loop(call: Any) -> bool:
    # A function, or an instance with an async __call__ (FastAPI's HTTPBearer).
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004
    )


def test_get_job_dependencies_are_all_async() -> None:
    calls = _calls(get_dependant(path="/v1/jobs/{job_id}", call=get_job))
    assert len(calls) >= 4, "the guard chain: services, key, version, rate limit"
    blocking = [getattr(c, "__name__", repr(c)) for c in calls if not _runs_on_the_loop(c)]
    assert blocking == []
