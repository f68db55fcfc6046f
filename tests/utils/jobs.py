"""Jobs for tests: a finished one over HTTP, and assertions about job responses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import httpx

from devtools.tenants import Tenant, generation_body

if TYPE_CHECKING:
    from tests.utils.stack import Stack


async def done_job(
    stack: Stack,
    tenant: Tenant,
    mode: Literal["live", "test"] = "test",
    *,
    wait_ms: int = 10_000,
    **body: Any,
) -> dict[str, Any]:
    """POST a generation and wait up to ``wait_ms`` for it: the job as the API returns it."""
    response = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=wait_ms, **body),
        headers=tenant.headers(mode),
    )
    job: dict[str, Any] = response.json()["data"]
    return job


def accepted_job(response: httpx.Response) -> dict[str, Any]:
    """A job from POST /v1/posts/generations, its HTTP status consistent with its state.

    Without a wait a job is usually RUNNING (202), but a fast worker may already have
    finished it (200): both are correct, as long as status code and state agree.
    """
    job: dict[str, Any] = response.json()["data"]
    expected = 202 if job["status"] in ("QUEUED", "RUNNING") else 200
    assert response.status_code == expected, (response.status_code, job["status"])
    return job
