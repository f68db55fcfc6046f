"""Per-workspace sliding-window rate limit, in memory and in Redis."""

from __future__ import annotations

import uuid

import pytest

from services.rate_limit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.utils.envelope import assert_envelope
from tests.utils.inprocess import ApiStack


async def test_headers_count_down_and_429_carries_retry_after(stack: ApiStack) -> None:
    tenant = await stack.tenant(rate_limit=3)
    remaining = []
    for _ in range(3):
        response = await stack.http.get("/v1/workspaces/me", headers=tenant.headers())
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "3"
        assert 0 < int(response.headers["x-ratelimit-reset"]) <= 60
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert remaining == [2, 1, 0]
    refused = await stack.http.get("/v1/workspaces/me", headers=tenant.headers())
    assert_envelope(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining"] == "0"


async def test_the_window_is_per_workspace_not_per_key(stack: ApiStack) -> None:
    tenant = await stack.tenant(rate_limit=2)
    other = await stack.tenant(rate_limit=2)
    assert (
        await stack.http.get("/v1/workspaces/me", headers=tenant.headers("live"))
    ).status_code == 200
    assert (
        await stack.http.get("/v1/workspaces/me", headers=tenant.headers("test"))
    ).status_code == 200
    shared = await stack.http.get("/v1/workspaces/me", headers=tenant.headers("live"))
    assert shared.status_code == 429
    assert (await stack.http.get("/v1/workspaces/me", headers=other.headers())).status_code == 200


async def test_requests_refused_before_the_limit_do_not_count(stack: ApiStack) -> None:
    tenant = await stack.tenant(rate_limit=1)
    for _ in range(3):  # a bad version is refused before the rate limit
        response = await stack.http.get(
            "/v1/workspaces/me", headers=tenant.headers(**{"Scripe-Api-Version": "1999-01-01"})
        )
        assert response.status_code == 400
    assert (await stack.http.get("/v1/workspaces/me", headers=tenant.headers())).status_code == 200


async def test_every_route_is_limited(stack: ApiStack) -> None:
    tenant = await stack.tenant(rate_limit=1)
    await stack.http.get("/v1/projects", headers=tenant.headers())
    for method, path in (
        ("GET", "/v1/jobs"),
        ("GET", f"/v1/projects/{tenant.project_id}"),
        ("POST", "/v1/posts/generations"),
        ("GET", "/v1/jobs/job_x"),
        ("POST", "/v1/jobs/job_x/cancel"),
        ("GET", "/v1/posts/post_x"),
    ):
        response = await stack.http.request(method, path, headers=tenant.headers())
        assert response.status_code == 429, path


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter_and_time(request: pytest.FixtureRequest) -> object:
    time = FakeTime()
    limiter: RateLimiter
    if request.param == "memory":
        limiter = InMemoryRateLimiter(clock=time)
    else:
        url = request.getfixturevalue("redis_url")
        limiter = RedisRateLimiter(url, prefix=f"test:{uuid.uuid4().hex}:", clock=time)
    yield limiter, time
    await limiter.close()


async def test_the_window_slides(limiter_and_time: tuple[RateLimiter, FakeTime]) -> None:
    limiter, time = limiter_and_time
    for i in range(3):
        decision = await limiter.hit("ws", 3)
        assert decision.allowed and decision.remaining == 2 - i
        time.now += 10
    # Three hits at t=0, 10, 20; now t=30: full until the first leaves at t=60.
    refused = await limiter.hit("ws", 3)
    assert not refused.allowed and refused.reset_seconds == 30 and refused.retry_after == 30
    time.now += 29.5
    assert not (await limiter.hit("ws", 3)).allowed  # refusals were not counted...
    time.now += 1
    again = await limiter.hit("ws", 3)  # ...so at t=60.5 exactly one slot is free
    assert again.allowed and again.remaining == 0
    assert not (await limiter.hit("ws", 3)).allowed
    assert (await limiter.hit("other-ws", 3)).allowed


async def test_limits_can_differ_per_workspace(
    limiter_and_time: tuple[RateLimiter, FakeTime],
) -> None:
    limiter, _ = limiter_and_time
    assert [(await limiter.hit("big", 100)).allowed for _ in range(50)] == [True] * 50
    assert [(await limiter.hit("small", 1)).allowed for _ in range(2)] == [True, False]
