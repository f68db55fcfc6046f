"""The product's main path over HTTP: submit, poll, read the post (docs/api.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from devtools.tenants import Tenant, generation_body
from tests.utils.jobs import accepted_job
from tests.utils.stack import Stack
from tests.utils.waiting import eventually

JOB_FIELDS = {
    "id",
    "type",
    "status",
    "projectId",
    "createdAt",
    "updatedAt",
    "startedAt",
    "completedAt",
    "progress",
    "result",
    "errorCode",
    "errorMessage",
    "attemptCount",
    "estimatedCompletionMs",
    "cost",
}


async def poll_until_finished(stack: Stack, tenant: Tenant, job_id: str) -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        response = await stack.http.get(f"/v1/jobs/{job_id}", headers=tenant.headers())
        assert response.status_code == 200
        job: dict[str, Any] = response.json()["data"]
        return job if job["status"] in ("DONE", "FAILED") else None

    return await eventually(finished)


async def test_submit_returns_a_job_at_once_and_polling_reaches_done(
    stack: Stack, tenant: Tenant
) -> None:
    response = await stack.http.post(
        "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers()
    )
    job = accepted_job(response)
    assert set(job) == JOB_FIELDS
    assert job["id"].startswith("job_") and job["type"] == "POST_GENERATION"
    assert job["projectId"] == tenant.project_id
    assert job["cost"]["estimateCents"] == 5

    done = await poll_until_finished(stack, tenant, job["id"])
    assert done["status"] == "DONE"
    assert done["result"]["postId"].startswith("post_")
    assert done["attemptCount"] == 1
    assert done["progress"] is None and done["errorCode"] is None
    assert done["completedAt"].endswith("Z") and len(done["completedAt"]) == 24  # ms precision
    assert done["cost"]["actualCents"] >= 1

    post = await stack.http.get(f"/v1/posts/{done['result']['postId']}", headers=tenant.headers())
    assert post.status_code == 200
    data = post.json()["data"]
    assert data["status"] == "draft" and data["scheduledAt"] is None
    assert data["jobId"] == job["id"] and data["platform"] == "LINKEDIN"
    assert "38%" in data["content"] and len(data["content"]) <= 3000
    assert data["title"] == data["content"].split("\n")[0][: len(data["title"])].rstrip("…")


async def test_waiting_returns_the_finished_job_with_200(stack: Stack, tenant: Tenant) -> None:
    response = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=10_000),
        headers=tenant.headers(),
    )
    assert response.status_code == 200
    job = response.json()["data"]
    assert job["status"] == "DONE" and job["result"]["postId"].startswith("post_")


async def test_wait_over_25_seconds_is_clamped_not_refused(stack: Stack, tenant: Tenant) -> None:
    response = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=10**12),
        headers=tenant.headers(),
    )
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "DONE"


async def test_scheduled_for_creates_a_scheduled_post(stack: Stack, tenant: Tenant) -> None:
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    response = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, scheduledFor=when.isoformat(), wait_for_completion_ms=10_000),
        headers=tenant.headers(),
    )
    job = response.json()["data"]
    assert job["status"] == "DONE"
    post = (
        await stack.http.get(f"/v1/posts/{job['result']['postId']}", headers=tenant.headers())
    ).json()["data"]
    assert post["status"] == "scheduled"
    assert datetime.fromisoformat(post["scheduledAt"]) == when


async def test_scheduled_for_in_the_past_is_422(stack: Stack, tenant: Tenant) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    response = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, scheduledFor=past),
        headers=tenant.headers(),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unprocessable" and error["details"]["field"] == "scheduledFor"


async def test_language_option_reaches_the_post(stack: Stack, tenant: Tenant) -> None:
    response = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, options={"language": "de"}, wait_for_completion_ms=10_000),
        headers=tenant.headers(),
    )
    job = response.json()["data"]
    post = (
        await stack.http.get(f"/v1/posts/{job['result']['postId']}", headers=tenant.headers())
    ).json()["data"]
    assert post["language"] == "de"
    assert "Kommentare" in post["content"] or "Erfahrung" in post["content"]


async def test_hashtags_only_when_asked(stack: Stack, tenant: Tenant) -> None:
    async def content(include: bool) -> str:
        response = await stack.http.post(
            "/v1/posts/generations",
            json=generation_body(
                tenant, options={"includeHashtags": include}, wait_for_completion_ms=10_000
            ),
            headers=tenant.headers(),
        )
        job = response.json()["data"]
        post = await stack.http.get(
            f"/v1/posts/{job['result']['postId']}", headers=tenant.headers()
        )
        return str(post.json()["data"]["content"])

    with_tags, without = await content(True), await content(False)
    assert with_tags.split("\n")[-1].startswith("#")
    assert "#" not in without


async def test_unknown_and_foreign_projects_are_404(stack: Stack, tenant: Tenant) -> None:
    other = await stack.tenant()
    for project_id in ("proj_" + "a" * 26, other.project_id):
        response = await stack.http.post(
            "/v1/posts/generations",
            json=generation_body(tenant, projectId=project_id),
            headers=tenant.headers(),
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_paused_or_archived_project_is_422(stack: Stack) -> None:
    for status in ("PAUSED", "ARCHIVED"):
        tenant = await stack.tenant(project_status=status)
        response = await stack.http.post(
            "/v1/posts/generations", json=generation_body(tenant), headers=tenant.headers()
        )
        assert response.status_code == 422
        assert response.json()["error"]["details"]["projectStatus"] == status


async def test_live_key_writes_with_the_openai_sdk_and_settles_its_usage(
    stack: Stack, tenant: Tenant, llm: Any
) -> None:
    llm.fake.cached_tokens = 0
    response = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=10_000),
        headers=tenant.headers("live"),
    )
    job = response.json()["data"]
    assert job["status"] == "DONE"
    [call] = llm.fake.requests
    assert call["body"]["model"] == "gpt-4o-mini"
    assert call["headers"]["authorization"] == "Bearer sk-test-fake"
    # The charge is the fake provider's reported usage at the configured gpt-4o-mini price.
    from db.repo import ledger

    [charge] = [
        e for e in await ledger.job_entries(db=stack.db, job_id=job["id"]) if e.kind == "charge"
    ]
    usage = charge.details
    expected = usage["input_tokens"] * 150 + usage["output_tokens"] * 600  # nanodollars
    assert charge.amount_nanos == expected
    assert usage["response_id"].startswith("chatcmpl-fake-")
    assert job["cost"] == {
        "estimateCents": 5,
        "actualCents": -(-expected // 10_000_000),
        "actualUsd": str(Decimal(expected) / 10**9),
    }
