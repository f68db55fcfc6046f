"""GET /metrics: the API's Prometheus metrics, read over HTTP after real
requests. The stack is shared by the session, so each test compares before and after."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from devtools.tenants import Tenant, generation_body
from tests.utils.stack import Stack

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(stack: Stack) -> Samples:
    response = await stack.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_requests_are_counted_by_route_template_and_status(
    stack: Stack, tenant: Tenant
) -> None:
    before = await scrape(stack)
    assert (await stack.http.get("/v1/workspaces/me", headers=tenant.headers())).status_code == 200
    missing = await stack.http.get("/v1/jobs/job_doesnotexist", headers=tenant.headers())
    assert missing.status_code == 404
    assert (await stack.http.get("/v1/no-such-route")).status_code == 404
    assert (await stack.http.delete("/v1/workspaces/me")).status_code == 405
    after = await scrape(stack)

    def requests(method: str, route: str, status: str) -> float:
        return delta(
            before, after, "scripe_api_requests_total", method=method, route=route, status=status
        )

    assert requests("GET", "/v1/workspaces/me", "200") == 1
    assert requests("GET", "/v1/jobs/{job_id}", "404") == 1  # the template, not the id
    assert requests("GET", "unmatched", "404") == 1
    assert requests("DELETE", "/v1/workspaces/me", "405") == 1
    latency = "scripe_api_request_duration_seconds_count"
    assert delta(before, after, latency, method="GET", route="/v1/jobs/{job_id}") == 1
    assert not any("job_doesnotexist" in str(labels) for _, labels in after)
    assert value(after, "scripe_api_requests_in_flight") == 1  # this scrape itself


async def test_admissions_and_spend_refusals_are_counted(stack: Stack, tenant: Tenant) -> None:
    capped = await stack.tenant(cap_cents=1)  # below the 5¢ estimate: refused
    before = await scrape(stack)
    accepted = await stack.http.post(
        "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers()
    )
    assert accepted.status_code == 202
    refused = await stack.http.post(
        "/v1/posts/generations", json=generation_body(capped), headers=capped.headers()
    )
    assert refused.status_code == 402
    after = await scrape(stack)

    admissions = "scripe_api_admissions_total"
    assert delta(before, after, admissions, outcome="admitted") == 1
    assert delta(before, after, admissions, outcome="refused") == 1
    assert delta(before, after, admissions, outcome="pending") == 0
    route = "/v1/posts/generations"
    total = "scripe_api_requests_total"
    assert delta(before, after, total, method="POST", route=route, status="402") == 1


async def test_rate_limited_requests_are_counted(stack: Stack) -> None:
    tenant = await stack.tenant(rate_limit=1)
    before = await scrape(stack)
    statuses = [
        (await stack.http.get("/v1/workspaces/me", headers=tenant.headers())).status_code
        for _ in range(3)
    ]
    after = await scrape(stack)

    assert statuses == [200, 429, 429]
    assert delta(before, after, "scripe_api_rate_limited_total") == 2
    assert (
        delta(
            before,
            after,
            "scripe_api_requests_total",
            method="GET",
            route="/v1/workspaces/me",
            status="429",
        )
        == 2
    )


async def test_metrics_are_not_in_the_public_api_description(stack: Stack) -> None:
    schema = (await stack.http.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]
