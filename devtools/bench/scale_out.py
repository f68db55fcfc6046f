"""``--scale-out``: the bench's stack with two worker processes and two API processes on
the same machine, sharing the rate limit through Redis, and the load spread over both APIs
in turn (as a load balancer would). Meant with ``--database-url`` (PostgreSQL): with
SQLite every process of the box still takes turns at one file lock."""

from __future__ import annotations

import asyncio
import time

from devtools.bench.api_load import RoundRobin
from devtools.bench.embedded import EmbeddedStack
from devtools.bench.http import HttpClient
from devtools.serving import free_port

READY_SECONDS = 60.0


async def scale_out(stack: EmbeddedStack, redis_url: str) -> RoundRobin:
    """Restart the API with the Redis rate limit, add a second API and a second worker;
    the client that spreads requests over the two APIs."""
    assert stack.tenant is not None
    env = stack._env() | {"SCRIPE_REDIS_URL": redis_url}  # noqa: SLF001 - as the stack has it
    second_port = free_port()
    stack.processes.stop("api")
    stack.processes.start("api", _api(), env)
    stack.processes.start("api-2", _api(), env | {"SCRIPE_API_PORT": str(second_port)})
    stack.processes.start(
        "worker-2", _worker(), env | {"SCRIPE_WORKER_METRICS_PORT": str(free_port())}
    )
    await stack._wait_ready()  # noqa: SLF001 - the first API and worker
    second = HttpClient(stack.settings.api_host, second_port, headers=stack.tenant.headers("live"))
    await _until_healthy(second, stack)
    return RoundRobin([stack.api(), second])


def _api() -> list[str]:
    from cli.supervisor import api_command

    return api_command()


def _worker() -> list[str]:
    from cli.supervisor import worker_command

    return worker_command()


async def _until_healthy(http: HttpClient, stack: EmbeddedStack) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        stack.processes.check_alive()
        try:
            if (await http.request("GET", "/v1/health")).status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the second API did not become healthy")
