"""The worker's own event loop is uvloop where it is installed (it is, with
uvicorn[standard]): the stock loop's self-pipe wake-ups were ~8 % of the worker's busy CPU."""

from __future__ import annotations

import uvloop

import worker


def test_worker_runs_on_uvloop() -> None:
    assert worker._loop_factory() is uvloop.new_event_loop
