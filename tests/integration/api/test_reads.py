"""Read endpoints: posts, projects, health; and URL sources end to end."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.main import create_app
from contracts import SEARCH_ATTRIBUTES
from devtools.serving import serve
from devtools.tenants import Tenant, generation_body
from tests.utils.envelope import assert_envelope
from tests.utils.jobs import done_job
from tests.utils.stack import Stack

ARTICLE = """<html><head><title>Why onboarding calls win</title>
<script>var tracking = "do not read me";</script></head><body>
<nav>Home | Blog | Pricing | Login</nav>
<article><h1>Why onboarding calls win</h1>
<p>We analysed 1,200 B2B SaaS accounts over two years of renewals and cancellations.</p>
<p>Customers who had a personal onboarding call churned 38% less in their first year.</p>
<p>The call costs thirty minutes; a lost customer costs a year of revenue and referrals.</p>
</article><footer>© Example Inc. All rights reserved. Cookie settings.</footer></body></html>"""


async def test_posts_list_by_project_with_status_filter_and_pages(
    stack: Stack, tenant: Tenant
) -> None:
    from datetime import UTC, datetime, timedelta

    draft = await done_job(stack, tenant)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    scheduled = await done_job(stack, tenant, scheduledFor=later)

    async def listed(**params: Any) -> dict[str, Any]:
        response = await stack.http.get(
            "/v1/posts",
            params={"projectId": tenant.project_id, **params},
            headers=tenant.headers(),
        )
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    everything = await listed()
    assert [p["id"] for p in everything["data"]] == [
        scheduled["result"]["postId"],
        draft["result"]["postId"],
    ]
    assert [p["id"] for p in (await listed(status="draft"))["data"]] == [draft["result"]["postId"]]
    first = await listed(limit=1)
    assert first["pagination"]["has_more"] is True
    second = await listed(limit=1, cursor=first["pagination"]["next_cursor"])
    assert [p["id"] for p in second["data"]] == [draft["result"]["postId"]]
    assert second["pagination"] == {"next_cursor": None, "has_more": False}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "invalid_request"),
        ({"status": "deleted"}, "invalid_request"),
        ({"limit": "0"}, "bad_pagination"),
        ({"cursor": "x"}, "bad_cursor"),
    ],
)
async def test_posts_list_errors(
    stack: Stack, tenant: Tenant, params: dict[str, str], code: str
) -> None:
    if params:
        params = {"projectId": tenant.project_id, **params}
    response = await stack.http.get("/v1/posts", params=params, headers=tenant.headers())
    assert_envelope(response, 400, code)


async def test_projects_list_and_read(stack: Stack, tenant: Tenant) -> None:
    listed = await stack.http.get("/v1/projects", headers=tenant.headers())
    [project] = listed.json()["data"]
    assert project == {
        "id": tenant.project_id,
        "name": "Northwind Growth",
        "type": "PERSONAL_BRAND",
        "status": "ACTIVE",
        "url": None,
        "createdAt": project["createdAt"],
    }
    read = await stack.http.get(f"/v1/projects/{tenant.project_id}", headers=tenant.headers())
    assert read.json()["data"] == project
    missing = await stack.http.get("/v1/projects/proj_nope", headers=tenant.headers())
    assert_envelope(missing, 404, "not_found")


async def test_health_is_ok_without_authentication(stack: Stack) -> None:
    response = await stack.http.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": "0.1.0",
        "checks": {"db": "ok", "temporal": "ok"},
    }


async def test_health_is_503_when_temporal_is_unreachable(stack: Stack) -> None:
    dead = await Client.connect("127.0.0.1:1", lazy=True, data_converter=pydantic_data_converter)
    app = create_app(stack.settings, temporal_client=dead, migrate=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/v1/health")
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"] == {"db": "ok", "temporal": "unavailable"}


async def test_submitting_while_temporal_is_unreachable_is_503(
    stack: Stack, tenant: Tenant
) -> None:
    dead = await Client.connect("127.0.0.1:1", lazy=True, data_converter=pydantic_data_converter)
    app = create_app(stack.settings, temporal_client=dead, migrate=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(
            "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers()
        )
    error = assert_envelope(response, 503, "service_unavailable")
    assert response.headers["retry-after"] and "Temporal" not in error["message"]


async def test_a_url_source_is_fetched_reduced_to_text_and_written_from(
    stack: Stack, tenant: Tenant
) -> None:
    async def article(_request: Request) -> Response:
        return HTMLResponse(ARTICLE)

    async def gone(_request: Request) -> Response:
        return Response(status_code=404)

    site = Starlette(routes=[Route("/story", article), Route("/gone", gone)])
    async with serve(site, lifespan="off") as base:
        job = await done_job(stack, tenant, source={"url": f"{base}/story"})
        failed = await done_job(stack, tenant, source={"url": f"{base}/gone"})
    assert job["status"] == "DONE", job
    post = (
        await stack.http.get(f"/v1/posts/{job['result']['postId']}", headers=tenant.headers())
    ).json()["data"]
    assert "38%" in post["content"]
    assert "tracking" not in post["content"] and "Cookie" not in post["content"]
    assert failed["status"] == "FAILED" and failed["errorCode"] == "source_unreachable"


async def test_private_addresses_fail_with_source_not_allowed(stack: Stack) -> None:
    """With the production setting (no private addresses), a loopback URL is refused."""
    strict = stack.settings.model_copy(
        update={
            "url_fetch_allow_private": False,
            "temporal_task_queue": stack.settings.temporal_task_queue + "-strict",
        }
    )
    from worker import build_worker

    tenant = await stack.tenant()
    app = create_app(strict, clock=stack.clock, temporal_client=stack.client, migrate=False)
    async with build_worker(stack.client, strict, stack.resources), serve(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            http_url = await http.post(
                "/v1/posts/generations",
                headers=tenant.headers(),
                json=generation_body(tenant, source={"url": "http://example.com/a"}),
            )
            assert (
                assert_envelope(http_url, 400, "invalid_request")["details"]["field"]
                == "source.url"
            )
            response = await http.post(
                "/v1/posts/generations",
                headers=tenant.headers(),
                json=generation_body(
                    tenant, source={"url": "https://127.0.0.1:9/x"}, wait_for_completion_ms=10_000
                ),
            )
    job = response.json()["data"]
    assert job["status"] == "FAILED" and job["errorCode"] == "source_not_allowed"
    assert job["cost"]["actualCents"] == 0


async def test_operators_find_the_job_in_temporal_by_search_attributes(
    stack: Stack, tenant: Tenant
) -> None:
    from tests.utils.waiting import eventually

    job = await done_job(stack, tenant)
    query = (
        f'WorkspaceId = "{tenant.workspace_id}" AND ProjectId = "{tenant.project_id}" '
        f'AND JobMode = "test" AND JobStatus = "DONE"'
    )

    async def found() -> list[str]:
        return [w.id async for w in stack.client.list_workflows(query)]

    assert await eventually(found) == [job["id"]]
    assert len(SEARCH_ATTRIBUTES) == 8
