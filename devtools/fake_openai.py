"""A local OpenAI-compatible server for tests, benchmarks and fault injection.

``POST /v1/chat/completions`` answers like the real API (id, model, choices, usage), after
an optional latency. Faults are scripted: tests push behaviours onto ``FakeOpenAI.script``
(in process), or start it with ``--fault-rate`` and ``--faults`` (out of process). Out of
process, ``POST /_chaos/config`` changes latency and faults at run time and
``GET /_chaos/stats`` counts what was answered (the chaos suite compares it with the ledger).
Run it alone with ``python -m devtools.fake_openai --port 8765 --latency-ms 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Behaviour = Literal[
    "ok", "429", "500", "503", "400", "401", "malformed", "refusal", "filter", "hang", "empty"
]


@dataclass
class FakeOpenAI:
    latency_ms: float = 0.0
    cached_tokens: int = 0
    # Reported completion tokens (capped at the request's max_tokens, as a provider would);
    # None: a quarter of the answer's characters. Makes a call as expensive as wanted.
    completion_tokens: int | None = None
    fault_rate: float = 0.0
    retry_after: str = "1"
    faults: tuple[Behaviour, ...] = ("429", "500", "malformed", "hang")
    script: deque[Behaviour] = field(default_factory=deque)
    answered: Counter[str] = field(default_factory=Counter)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _random: random.Random = field(default_factory=lambda: random.Random(7))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/_chaos/config", self._configure, methods=["POST"]),
                Route("/_chaos/stats", self._stats, methods=["GET"]),
            ]
        )

    def next_behaviour(self) -> Behaviour:
        if self.script:
            return self.script.popleft()
        if self.fault_rate and self._random.random() < self.fault_rate:
            return self._random.choice(self.faults)
        return "ok"

    async def _configure(self, request: Request) -> Response:
        """Change latency and faults of a running server (the chaos suite's knob)."""
        body = await request.json()
        self.latency_ms = float(body.get("latency_ms", self.latency_ms))
        self.fault_rate = float(body.get("fault_rate", self.fault_rate))
        self.retry_after = str(body.get("retry_after", self.retry_after))
        self.faults = tuple(body.get("faults", self.faults))
        if "completion_tokens" in body:
            self.completion_tokens = body["completion_tokens"]
        return JSONResponse({"ok": True})

    async def _stats(self, _request: Request) -> Response:
        """What was answered so far: a count per behaviour and the billed tokens."""
        return JSONResponse(dict(self.answered))

    async def _models(self, _request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})

    async def _completions(self, request: Request) -> Response:
        self.answered["inflight"] += 1
        try:
            return await self._complete(request)
        finally:
            self.answered["inflight"] -= 1

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"body": body, "headers": dict(request.headers)})
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        behaviour = self.next_behaviour()
        self.answered[f"behaviour:{behaviour}"] += 1
        if behaviour == "hang":
            # Until the client gives up (its timeout, a cancelled job), at most an hour: a
            # handler left sleeping would hold the server's shutdown for that long.
            for _ in range(36_000):
                if await request.is_disconnected():
                    return Response(status_code=499)
                await asyncio.sleep(0.1)
        if behaviour in ("429", "500", "503", "400", "401"):
            status = int(behaviour)
            headers = {"retry-after": self.retry_after} if status == 429 else {}
            return JSONResponse(
                {"error": {"message": f"fake {status}", "type": "fake", "code": None}},
                status_code=status,
                headers=headers,
            )
        if behaviour == "malformed":
            return Response('{"id": "chatcmpl-broken", "choices": [', media_type="application/json")
        messages = body.get("messages", [])
        prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
        content = "" if behaviour == "empty" else _post_for(messages)
        refusal = "I can't help with that." if behaviour == "refusal" else None
        finish = "content_filter" if behaviour == "filter" else "stop"
        completion_tokens = max(1, len(content) // 4)
        if self.completion_tokens is not None:
            completion_tokens = min(self.completion_tokens, int(body.get("max_tokens") or 1 << 30))
        self.answered["billed_calls"] += 1
        self.answered["billed_tokens"] += max(1, prompt_chars // 4) + completion_tokens
        return JSONResponse(
            {
                "id": f"chatcmpl-fake-{next(self._ids)}",
                "object": "chat.completion",
                "created": 1_764_000_000,
                "model": body.get("model", "gpt-4o-mini"),
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": None if refusal else content,
                            "refusal": refusal,
                        },
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": max(1, prompt_chars // 4),
                    "completion_tokens": completion_tokens,
                    "total_tokens": max(1, prompt_chars // 4) + completion_tokens,
                    "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
                    "completion_tokens_details": {"reasoning_tokens": 0},
                },
            }
        )


def _post_for(messages: list[dict[str, Any]]) -> str:
    """A plausible post: a hook and a few lines taken from the source in the prompt."""
    user = str(messages[-1].get("content", "")) if messages else ""
    source = user.split("<source>", 1)[-1].split("</source>", 1)[0].strip()
    sentences = [s.strip() for s in source.replace("\n", " ").split(". ") if s.strip()]
    hook = (sentences[0] if sentences else "Here is what we learned this week").rstrip(".")
    body = [s.rstrip(".") + "." for s in sentences[1:4]]
    return "\n\n".join([hook + ".", *body, "What would you add?"])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--faults",
        default="429,500,malformed,hang",
        help="comma-separated behaviours drawn at --fault-rate (also: 503, refusal, filter, empty)",
    )
    args = parser.parse_args()
    fake = FakeOpenAI(
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        faults=tuple(args.faults.split(",")),
    )
    print(json.dumps({"listening": f"http://{args.host}:{args.port}/v1"}), flush=True)
    uvicorn.run(fake.app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
