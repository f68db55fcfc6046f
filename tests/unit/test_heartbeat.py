"""The attempt's heartbeat: what it sends, and when."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.heartbeat import heartbeating


def _environment() -> tuple[ActivityEnvironment, list[tuple[Any, ...]], asyncio.Event]:
    env = ActivityEnvironment()
    sent: list[tuple[Any, ...]] = []
    second = asyncio.Event()

    def on_heartbeat(*details: Any) -> None:
        sent.append(details)
        if len(sent) >= 2:
            second.set()

    env.on_heartbeat = on_heartbeat
    return env, sent, second


async def test_what_the_body_records_is_the_attempts_first_heartbeat() -> None:
    # The SDK sends an attempt's first heartbeat at once and throttles the next ones: an
    # answer recorded before booking must not queue behind an empty beat.
    env, sent, _ = _environment()

    async def body() -> None:
        async with heartbeating(every=5) as heartbeat:
            await asyncio.sleep(0)  # the provider call: the loop runs other tasks meanwhile
            heartbeat.record({"answer": 1})

    await env.run(body)
    assert sent == [({"answer": 1},)]


async def test_a_long_body_keeps_beating_with_the_latest_details() -> None:
    env, sent, second = _environment()

    async def body() -> None:
        async with heartbeating(every=0.01) as heartbeat:
            heartbeat.record("recorded")
            await second.wait()

    await asyncio.wait_for(env.run(body), timeout=10)
    assert sent[:2] == [("recorded",), ("recorded",)]
