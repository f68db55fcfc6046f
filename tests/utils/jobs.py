"""Assertions about job responses shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx


def accepted_job(response: httpx.Response) -> dict[str, Any]:
    """A job from POST /v1/posts/generations, its HTTP status consistent with its state.

    Without a wait a job is usually RUNNING (202), but a fast worker may already have
    finished it (200): both are correct, as long as status code and state agree.
    """
    job: dict[str, Any] = response.json()["data"]
    expected = 202 if job["status"] in ("QUEUED", "RUNNING") else 200
    assert response.status_code == expected, (response.status_code, job["status"])
    return job
