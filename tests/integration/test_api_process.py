"""``scripe api`` as a real process: SIGTERM lets the request in
flight finish before the process exits, and every log line is JSON with the request id.

The process serves the session stack's database and task queue, so the stack's worker
runs its jobs.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.supervisor import api_command
from devtools.serving import free_port
from devtools.tenants import Tenant, generation_body
from tests.utils.processes import Process, Processes, process_env, processes
from tests.utils.stack import FakeLlm, Stack
from tests.utils.waiting import eventually


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    with processes(tmp_path / "processes") as started:
        yield started


async def start_api(stack: Stack, procs: Processes) -> tuple[Process, str]:
    port = free_port()
    env = process_env(stack.settings, api_host="127.0.0.1", api_port=port)
    api = procs.start("api", api_command(), env)
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:

        async def healthy() -> bool:
            api.child.check_alive()  # an exited API fails at once
            try:
                return (await http.get("/v1/health")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(healthy, timeout=30, interval=0.1)
    return api, url


async def test_sigterm_lets_the_request_in_flight_finish(
    stack: Stack, tenant: Tenant, llm: FakeLlm, procs: Processes
) -> None:
    llm.fake.latency_ms = 1500
    api, url = await start_api(stack, procs)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        waiting = asyncio.create_task(
            http.post(
                "/v1/posts/generations",
                json=generation_body(tenant, wait_for_completion_ms=20_000),
                headers=tenant.headers("live"),
            )
        )

        async def provider_called() -> bool:
            return bool(llm.fake.requests)

        await eventually(provider_called)  # the request is waiting for its job
        api.terminate()
        response = await waiting

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "DONE"
    # After its graceful shutdown uvicorn re-raises the signal: the status says SIGTERM.
    assert await api.exit_code() == -signal.SIGTERM
    with pytest.raises(httpx.ConnectError):  # and it is gone
        async with httpx.AsyncClient(base_url=url) as http:
            await http.get("/v1/health")

    lines = api.log_lines()  # uvicorn's own lines included: every line is JSON
    request_id = response.headers["X-Request-Id"]
    access = [line for line in lines if line.get("request_id") == request_id]
    assert [(a["logger"], a["method"], a["route"], a["status"]) for a in access] == [
        ("scripe.api.access", "POST", "/v1/posts/generations", 200)
    ]
    assert access[0]["workspace_id"] == tenant.workspace_id
    messages = [line["message"] for line in lines]
    # The request finished before the app shut down, and the app shut down cleanly.
    assert messages.index(access[0]["message"]) < messages.index(
        "Waiting for application shutdown."
    )
    assert "Application shutdown complete." in messages
    assert tenant.live_key not in api.log_path.read_text()
