"""API logs: one JSON access line per request, carrying the request id
(the same as the X-Request-Id header) and the workspace id; keys never appear."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from api.context import RequestContextFilter
from devtools.tenants import Tenant
from observability.logs import make_handler
from tests.utils.stack import Stack
from tests.utils.waiting import eventually


@pytest.fixture
def api_log() -> Iterator[io.StringIO]:
    """What the API's access logger writes, through the handler the process would use."""
    stream = io.StringIO()
    handler = make_handler("json", filters=[RequestContextFilter()], stream=stream)
    logger = logging.getLogger("scripe.api.access")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


async def line_for(stream: io.StringIO, request_id: str) -> dict[str, Any]:
    async def logged() -> dict[str, Any] | None:
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        return next((line for line in lines if line.get("request_id") == request_id), None)

    return await eventually(logged)


async def test_access_line_is_json_with_request_and_workspace_ids(
    stack: Stack, tenant: Tenant, api_log: io.StringIO
) -> None:
    response = await stack.http.get("/v1/jobs/job_doesnotexist", headers=tenant.headers())
    assert response.status_code == 404

    line = await line_for(api_log, response.headers["X-Request-Id"])
    assert line["request_id"] == response.json()["error"]["request_id"]
    assert line["workspace_id"] == tenant.workspace_id
    assert line["logger"] == "scripe.api.access" and line["level"] == "INFO"
    assert line["method"] == "GET" and line["route"] == "/v1/jobs/{job_id}"
    assert line["path"] == "/v1/jobs/job_doesnotexist" and line["status"] == 404
    assert line["duration_ms"] >= 0 and "time" in line
    assert tenant.test_key not in api_log.getvalue()


async def test_unauthenticated_requests_have_no_workspace(
    stack: Stack, api_log: io.StringIO
) -> None:
    response = await stack.http.get(
        "/v1/workspaces/me", headers={"Authorization": "Bearer scripe_sk_live_notarealkey"}
    )
    assert response.status_code == 401

    line = await line_for(api_log, response.headers["X-Request-Id"])
    assert line["status"] == 401 and "workspace_id" not in line
    assert "notarealkey" not in api_log.getvalue()


async def test_probes_and_scrapes_are_logged_at_debug_only(
    stack: Stack, tenant: Tenant, api_log: io.StringIO
) -> None:
    health = await stack.http.get("/v1/health")
    scrape = await stack.http.get("/metrics")
    me = await stack.http.get("/v1/workspaces/me", headers=tenant.headers())
    await line_for(api_log, me.headers["X-Request-Id"])  # INFO lines are written …

    ids = {health.headers["X-Request-Id"], scrape.headers["X-Request-Id"]}
    logged = [json.loads(line) for line in api_log.getvalue().splitlines()]
    assert not [line for line in logged if line.get("request_id") in ids]  # … these are not
