"""The polled read runs on the event loop only: FastAPI runs a plain ``def`` dependency in a
thread pool, a thread hop per request on the hottest route (BENCHMARKS.md, "Where the time
goes"). And it resolves one guard, not a chain of four with ``Security(HTTPBearer)`` and a
``Header`` parameter: FastAPI's resolution of those was about a tenth of the API's CPU per
GET (BENCHMARKS.md, proposal 6)."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant

from api.deps import get_services, guard
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
    assert calls, "the services and the guard"
    blocking = [getattr(c, "__name__", repr(c)) for c in calls if not _runs_on_the_loop(c)]
    assert blocking == []


def test_get_job_resolves_one_guard_that_reads_the_headers_itself() -> None:
    dependant = get_dependant(path="/v1/jobs/{job_id}", call=get_job)
    assert _calls(dependant) == [get_services, guard]
    # No parameter or sub-dependency for FastAPI to resolve: key, version and rate limit
    # come from request.headers inside the guard (the document declares them instead).
    (guard_dependant,) = (d for d in dependant.dependencies if d.call is guard)
    assert guard_dependant.dependencies == []
    assert guard_dependant.header_params == []
    assert guard_dependant.request_param_name == "request"
