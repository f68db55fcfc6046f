"""(b) What the API's customers see: admission, POST-to-DONE, bounded waits and polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cli.demo import SAMPLE_SOURCE
from devtools.bench.http import Response
from devtools.bench.stats import Samples, closed_loop

GENERATIONS = "/v1/posts/generations"


class ApiClient(Protocol):
    """One API process (:class:`HttpClient`) or several in turn (:class:`RoundRobin`)."""

    async def request(self, method: str, path: str, body: Any = None) -> Response: ...

    async def close(self) -> None: ...


class RoundRobin:
    """Requests spread over several API processes in turn, as a load balancer would."""

    def __init__(self, clients: list[ApiClient]) -> None:
        self._clients = clients
        self._next = 0

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        client = self._clients[self._next % len(self._clients)]
        self._next += 1
        return await client.request(method, path, body)

    async def close(self) -> None:
        for client in self._clients:
            await client.close()


class Refused(RuntimeError):
    """The API answered a POST with an error (the bench counts it, then goes on)."""


class NotDone(RuntimeError):
    """A POST's wait ran out before its job was DONE."""


@dataclass
class WaitOutcomes:
    """POSTs with ``wait_for_completion_ms``: the latencies of those that came back DONE,
    and as ``done.errors`` those that did not. ``refused`` counts the answers other than
    200/202 among them (e.g. 503 when the stack sheds load)."""

    done: Samples = field(default_factory=Samples)
    refused: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.done.count + self.done.errors
        return self.done.count / total if total else float("nan")


class ApiDriver:
    def __init__(self, http: ApiClient, project_id: str) -> None:
        self._http = http
        self._project_id = project_id
        self.job_ids: list[str] = []

    async def submit(self, wait_ms: int = 0) -> dict[str, object]:
        body: dict[str, object] = {
            "projectId": self._project_id,
            "source": {"text": SAMPLE_SOURCE},
        }
        if wait_ms:
            body["wait_for_completion_ms"] = wait_ms
        response = await self._http.request("POST", GENERATIONS, body)
        if response.status not in (200, 202):
            raise Refused(f"POST answered {response.status}: {response.body[:300]!r}")
        job: dict[str, object] = response.json()["data"]
        self.job_ids.append(str(job["id"]))
        return job

    def admission(self) -> Callable[[], Awaitable[None]]:
        """POST without waiting: the customer gets the admitted job back."""

        async def operation() -> None:
            await self.submit()

        return operation

    def done_within(
        self, wait_ms: int, *, on_refused: Callable[[], None] = lambda: None
    ) -> Callable[[], Awaitable[None]]:
        """POST with ``wait_for_completion_ms``; fails (``Refused``, ``NotDone``) unless the
        job comes back DONE."""

        async def operation() -> None:
            try:
                job = await self.submit(wait_ms)
            except Refused:
                on_refused()
                raise
            if job["status"] != "DONE":
                raise NotDone(f"job {job['id']} is {job['status']}")

        return operation

    async def post_and_wait(self, *, total: int, concurrency: int, wait_ms: int) -> WaitOutcomes:
        """``total`` POSTs with ``wait_for_completion_ms``, ``concurrency`` at a time."""
        outcomes = WaitOutcomes()

        def refused() -> None:
            outcomes.refused += 1

        operation = self.done_within(wait_ms, on_refused=refused)
        outcomes.done = await closed_loop(operation, total=total, concurrency=concurrency)
        return outcomes

    async def pollers(self, *, pollers: int, seconds: float, interval: float = 0.0) -> Samples:
        """``pollers`` clients reading jobs for ``seconds``, each on its own clock: one read
        every ``interval`` (the next one at once if an answer took longer), or back to back
        when ``interval`` is 0 (the API's capacity).

        Each poller keeps its own phase (spread evenly over the interval) instead of sleeping
        ``interval`` after every answer: pollers that sleep after answering drift into step
        with each other (answers that queue together come back together, and the pollers
        all return at once), so within seconds 50 independent clients become a few bursts
        of 50, which no real client population does."""
        samples = Samples()
        ids = self.job_ids[-200:]
        began = time.perf_counter()
        deadline = began + seconds

        async def poller(offset: int) -> None:
            index = offset
            due = began + interval * offset / pollers
            while True:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                started = time.perf_counter()
                if started >= deadline:
                    return
                response = await self._http.request("GET", f"/v1/jobs/{ids[index % len(ids)]}")
                if response.status == 200:
                    samples.latencies_ms.append((time.perf_counter() - started) * 1000)
                else:
                    samples.errors += 1
                index += 1
                due = max(due + interval, time.perf_counter()) if interval else 0.0

        await asyncio.gather(*(poller(i) for i in range(pollers)))
        samples.wall_seconds = time.perf_counter() - began
        return samples

    async def drained(self, timeout: float = 120.0) -> None:
        """Wait until no job is QUEUED or RUNNING, so the next measurement starts idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = await self._http.request("GET", "/v1/jobs?status=QUEUED,RUNNING&limit=1")
            if response.status == 200 and not response.json()["data"]:
                return
            await asyncio.sleep(0.25)
        raise RuntimeError("jobs were still running after the drain timeout")
