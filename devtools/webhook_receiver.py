"""A local webhook receiver for tests, the bench and chaos.

``POST /hooks/{name}`` records every delivery (headers, body, whether its signature
verifies with the ``standardwebhooks`` package against the secrets it was told) and answers
as scripted: tests push behaviours onto ``WebhookReceiver.script`` (in process), or use
``POST /_receiver/script`` (out of process); ``GET /_receiver/stats`` counts what arrived.
Behaviours: ``ok`` (204), ``500``, ``410``, ``302`` (a redirect to /elsewhere, which must
never be followed), ``slow`` (answers after ``slow_seconds``), ``hang`` (answers after
``hang_seconds``, longer than the sender waits: a timeout), ``down`` (503 for all).
Run it alone with ``python -m devtools.webhook_receiver --port 8766``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Behaviour = Literal["ok", "500", "410", "302", "slow", "hang", "down"]


@dataclass(frozen=True)
class Received:
    name: str
    webhook_id: str
    headers: dict[str, str]
    body: str
    verified: bool
    answered: str
    received_at: datetime

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class WebhookReceiver:
    slow_seconds: float = 5.0
    hang_seconds: float = 60.0
    down: bool = False
    script: deque[Behaviour] = field(default_factory=deque)
    secrets: dict[str, list[str]] = field(default_factory=dict)  # name → accepted secrets
    received: list[Received] = field(default_factory=list)
    answered: Counter[str] = field(default_factory=Counter)
    elsewhere_hits: int = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hooks/{name}", self._hook, methods=["POST"]),
                Route("/elsewhere", self._elsewhere, methods=["GET", "POST"]),
                Route("/_receiver/script", self._configure, methods=["POST"]),
                Route("/_receiver/stats", self._stats, methods=["GET"]),
            ]
        )

    def for_name(self, name: str) -> list[Received]:
        return [r for r in self.received if r.name == name]

    def verify(self, name: str, body: str, headers: dict[str, str]) -> bool:
        for secret in self.secrets.get(name, []):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True
        return False

    async def _hook(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = (await request.body()).decode()
        headers = {k.lower(): v for k, v in request.headers.items()}
        behaviour: Behaviour = (
            "down" if self.down else (self.script.popleft() if self.script else "ok")
        )
        self.received.append(
            Received(
                name=name,
                webhook_id=headers.get("webhook-id", ""),
                headers=headers,
                body=body,
                verified=self.verify(name, body, headers),
                answered=behaviour,
                received_at=datetime.now(UTC),
            )
        )
        self.answered[behaviour] += 1
        if behaviour in ("slow", "hang"):
            await asyncio.sleep(self.slow_seconds if behaviour == "slow" else self.hang_seconds)
            return Response(status_code=204)
        if behaviour == "302":
            return Response(status_code=302, headers={"location": "/elsewhere"})
        status = {"ok": 204, "500": 500, "410": 410, "down": 503}[behaviour]
        return Response(status_code=status)

    async def _elsewhere(self, request: Request) -> Response:
        self.elsewhere_hits += 1
        return Response(status_code=200)

    async def _configure(self, request: Request) -> JSONResponse:
        body = await request.json()
        if "down" in body:
            self.down = bool(body["down"])
        if "slowSeconds" in body:
            self.slow_seconds = float(body["slowSeconds"])
        if "hangSeconds" in body:
            self.hang_seconds = float(body["hangSeconds"])
        for behaviour in body.get("script", []):
            self.script.append(behaviour)
        for name, secrets in body.get("secrets", {}).items():
            self.secrets[name] = list(secrets)
        return JSONResponse({"ok": True})

    async def _stats(self, request: Request) -> JSONResponse:
        ids = Counter(r.webhook_id for r in self.received)
        return JSONResponse(
            {
                "received": len(self.received),
                "answered": dict(self.answered),
                "distinctWebhookIds": len(ids),
                "delivered": sorted({r.webhook_id for r in self.received if r.answered == "ok"}),
                "unverified": sum(1 for r in self.received if not r.verified),
            }
        )


@contextlib.asynccontextmanager
async def serving(receiver: WebhookReceiver, port: int) -> AsyncIterator[None]:
    """The receiver's app served on 127.0.0.1:``port`` in this event loop for the block;
    outside it nothing listens there (an attempt then gets a refused connection)."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(receiver.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the bind failed: raise it
            raise RuntimeError("the webhook receiver stopped before it started")
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    uvicorn.run(WebhookReceiver().app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
