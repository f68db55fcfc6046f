"""The error envelope every API error answers with (docs/api.md), asserted in one place."""

from __future__ import annotations

import re
from typing import Any

import httpx

REQUEST_ID = re.compile(r"^req_[a-z2-7]{26}$")


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and isinstance(error["message"], str)
    assert error["request_id"] == response.headers["x-request-id"]
    assert REQUEST_ID.match(error["request_id"])
    assert error["docs_url"].endswith(f"/docs/errors#{code}")
    assert set(error) <= {"code", "message", "request_id", "docs_url", "details", "meta"}
    return error
