"""Real jobs → signed webhook deliveries: the dev server, the job worker, the webhook worker,
the API over HTTP and the local receiver; signatures checked with ``standardwebhooks``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from activities.webhooks import WebhookActivities
from contracts import JobEventsInput, JobMode, delivery_workflow_id
from devtools.tenants import Tenant
from domain.webhooks import delivery_id, event_id
from tests.utils.jobs import done_job
from tests.utils.processes import process_env
from tests.utils.stack import FakeLlm, Stack
from tests.utils.waiting import eventually
from tests.utils.webhooks import Receiver, create_endpoint

PATH = "/v1/webhook-endpoints"
SCRIPE = Path(sys.executable).parent / "scripe"
pytestmark = pytest.mark.usefixtures("webhook_worker")


async def deliveries(
    stack: Stack, tenant: Tenant, endpoint_id: str, mode: str = "test"
) -> list[dict[str, Any]]:
    response = await stack.http.get(
        f"{PATH}/{endpoint_id}/deliveries",
        headers=tenant.headers(mode),  # type: ignore[arg-type]
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def settled(
    stack: Stack, tenant: Tenant, endpoint_id: str, count: int, mode: str = "test"
) -> list[dict[str, Any]]:
    """The endpoint's deliveries once ``count`` of them are no longer PENDING."""

    async def check() -> list[dict[str, Any]] | None:
        rows = await deliveries(stack, tenant, endpoint_id, mode)
        done = [r for r in rows if r["status"] != "PENDING"]
        return rows if len(done) >= count else None

    return await eventually(check, timeout=30)


async def test_a_finished_job_sends_signed_job_completed_and_post_created(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    endpoint = await create_endpoint(stack, tenant, receiver, "done")
    job = await done_job(stack, tenant)
    assert job["status"] == "DONE"

    rows = await settled(stack, tenant, endpoint["id"], 2)
    assert {r["eventType"]: r["status"] for r in rows} == {
        "job.completed": "DELIVERED",
        "post.created": "DELIVERED",
    }
    got = receiver.fake.for_name("done")
    assert len(got) == 2 and all(r.verified for r in got)
    by_type = {r.event["type"]: r for r in got}
    completed, created = by_type["job.completed"], by_type["post.created"]
    assert completed.webhook_id == event_id(job_id=job["id"], event_type="job.completed")
    assert completed.event["id"] == completed.webhook_id
    # data.object is the resource exactly as GET returns it.
    read_job = (await stack.http.get(f"/v1/jobs/{job['id']}", headers=tenant.headers())).json()
    assert completed.event["data"]["object"] == read_job["data"]
    post_id = job["result"]["postId"]
    read_post = (await stack.http.get(f"/v1/posts/{post_id}", headers=tenant.headers())).json()
    assert created.event["data"]["object"] == read_post["data"]
    assert completed.event["createdAt"] == read_job["data"]["completedAt"]
    attempt = rows[0]["attempts"][0]
    assert attempt["statusCode"] == 204 and attempt["latencyMs"] >= 0 and attempt["error"] is None


async def test_a_failed_job_sends_job_failed_to_endpoints_that_asked_for_it(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    # Live mode: the LLM writes (test mode uses the offline writer).
    failures = await create_endpoint(
        stack, tenant, receiver, "failures", events=["job.failed"], mode="live"
    )
    posts = await create_endpoint(
        stack, tenant, receiver, "posts", events=["post.created"], mode="live"
    )
    llm.fake.script.append("400")  # provider_rejected: the job fails at once
    job = await done_job(stack, tenant, "live")
    assert job["status"] == "FAILED"

    [row] = await settled(stack, tenant, failures["id"], 1, "live")
    assert row["eventType"] == "job.failed" and row["status"] == "DELIVERED"
    [got] = receiver.fake.for_name("failures")
    assert got.verified and got.event["data"]["object"]["errorCode"] == job["errorCode"]
    # Recorded in the same transaction as the job.failed delivery: nothing for post.created.
    assert await deliveries(stack, tenant, posts["id"], "live") == []


async def test_a_500_is_retried_with_the_same_webhook_id_until_a_2xx(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    endpoint = await create_endpoint(stack, tenant, receiver, "flaky", events=["job.completed"])
    receiver.fake.script.extend(["500"])
    job = await done_job(stack, tenant)

    [row] = await settled(stack, tenant, endpoint["id"], 1)
    assert row["status"] == "DELIVERED" and row["attemptCount"] == 2
    assert [a["statusCode"] for a in row["attempts"]] == [500, 204]
    assert row["attempts"][0]["error"] == "answered 500"
    got = receiver.fake.for_name("flaky")
    assert [r.answered for r in got] == ["500", "ok"]
    assert {r.webhook_id for r in got} == {event_id(job_id=job["id"], event_type="job.completed")}
    assert all(r.verified for r in got)
    # Each attempt is signed afresh (its own timestamp), over the same body.
    assert got[0].body == got[1].body


async def test_a_410_disables_the_endpoint(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    endpoint = await create_endpoint(stack, tenant, receiver, "gone", events=["job.completed"])
    receiver.fake.script.append("410")
    await done_job(stack, tenant)

    [row] = await settled(stack, tenant, endpoint["id"], 1)
    assert row["status"] == "FAILED" and row["attemptCount"] == 1
    read = (await stack.http.get(f"{PATH}/{endpoint['id']}", headers=tenant.headers())).json()
    assert read["data"]["enabled"] is False and "410" in read["data"]["disabledReason"]
    # A disabled endpoint is not sent the next job's events.
    await done_job(stack, tenant)
    assert len(receiver.fake.for_name("gone")) == 1


async def test_a_redirect_is_a_failure_and_is_never_followed(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    endpoint = await create_endpoint(stack, tenant, receiver, "moved", events=["job.completed"])
    receiver.fake.script.append("302")
    await done_job(stack, tenant)

    [row] = await settled(stack, tenant, endpoint["id"], 1)
    assert [a["statusCode"] for a in row["attempts"]] == [302, 204]
    assert "redirects are not followed" in row["attempts"][0]["error"]
    assert receiver.fake.elsewhere_hits == 0


async def test_a_slow_receiver_times_out_and_the_next_attempt_delivers(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    endpoint = await create_endpoint(stack, tenant, receiver, "slow", events=["job.completed"])
    receiver.fake.slow_seconds = 5  # the webhook worker's attempts are bounded at 1.5 s
    receiver.fake.script.append("slow")
    await done_job(stack, tenant)

    [row] = await settled(stack, tenant, endpoint["id"], 1)
    first, second = row["attempts"]
    assert first["statusCode"] is None and "no answer within 1.5 s" in first["error"]
    assert second["statusCode"] == 204


async def test_retry_sends_a_delivery_again_with_the_same_webhook_id(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    endpoint = await create_endpoint(stack, tenant, receiver, "again", events=["job.completed"])
    await done_job(stack, tenant)
    [row] = await settled(stack, tenant, endpoint["id"], 1)

    response = await stack.http.post(
        f"{PATH}/{endpoint['id']}/deliveries/{row['id']}/retry", headers=tenant.headers()
    )
    assert response.status_code == 202, response.text

    async def sent_twice() -> list[Any] | None:
        got = receiver.fake.for_name("again")
        return got if len(got) == 2 else None

    got = await sent_twice_or_fail(sent_twice)
    assert got[0].webhook_id == got[1].webhook_id == row["eventId"]
    # The retried run backs off under the API's SCRIPE_WEBHOOK_MAX_BACKOFF_SECONDS, as the
    # worker's own deliveries do (it was started without one: the default, whatever was set).
    retried = await stack.client.get_workflow_handle(delivery_workflow_id(row["id"])).describe()
    history = await stack.client.get_workflow_handle(
        delivery_workflow_id(row["id"]), run_id=retried.run_id
    ).fetch_history()
    [start_input] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    started = json.loads(start_input.data)
    assert started["max_backoff_seconds"] == stack.settings.webhook_max_backoff_seconds
    [again] = await eventually(lambda: _with_attempts(stack, tenant, endpoint["id"], 2), timeout=30)
    assert again["status"] == "DELIVERED" and [a["number"] for a in again["attempts"]] == [1, 2]

    unknown = await stack.http.post(
        f"{PATH}/{endpoint['id']}/deliveries/whd_{'a' * 26}/retry", headers=tenant.headers()
    )
    assert unknown.status_code == 404


async def sent_twice_or_fail(check: Any) -> list[Any]:
    result: list[Any] = await eventually(check, timeout=30)
    return result


async def _with_attempts(
    stack: Stack, tenant: Tenant, endpoint_id: str, count: int
) -> list[dict[str, Any]] | None:
    rows = await deliveries(stack, tenant, endpoint_id)
    done = [r for r in rows if len(r["attempts"]) >= count and r["status"] != "PENDING"]
    return done or None


async def test_emitting_again_sends_nothing_twice(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    """What a reset or retry of the job would do: the same event ids, no new delivery."""
    endpoint = await create_endpoint(stack, tenant, receiver, "once", events=["job.completed"])
    job = await done_job(stack, tenant)
    [row] = await settled(stack, tenant, endpoint["id"], 1)
    activities = WebhookActivities(
        db=stack.db, http=stack.resources.http, timeout_seconds=1, allow_private=True
    )
    emitted = await activities.record_job_events(
        JobEventsInput(job_id=job["id"], workspace_id=tenant.workspace_id, mode=JobMode.TEST)
    )
    evt = event_id(job_id=job["id"], event_type="job.completed")
    assert evt in emitted.event_ids
    assert emitted.deliveries == []  # delivered already: nothing to start
    assert row["id"] == delivery_id(event_id=evt, endpoint_id=endpoint["id"])
    assert len(await deliveries(stack, tenant, endpoint["id"])) == 1


async def test_operators_find_delivery_workflows_by_search_attributes(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    endpoint = await create_endpoint(stack, tenant, receiver, "search", events=["job.completed"])
    await done_job(stack, tenant)
    [row] = await settled(stack, tenant, endpoint["id"], 1)
    query = (
        f'WorkspaceId = "{tenant.workspace_id}" AND WebhookEndpointId = "{endpoint["id"]}" '
        f'AND WebhookEventType = "job.completed" AND WebhookDeliveryStatus = "DELIVERED"'
    )

    async def found() -> list[str]:
        return [w.id async for w in stack.client.list_workflows(query)]

    assert await eventually(found) == [f"webhook-delivery-{row['id']}"]


async def test_test_mode_events_go_to_test_mode_endpoints_only(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    live = await create_endpoint(stack, tenant, receiver, "live-only", mode="live")
    test = await create_endpoint(stack, tenant, receiver, "test-only")
    await done_job(stack, tenant, "test")
    await settled(stack, tenant, test["id"], 2)
    response = await stack.http.get(
        f"{PATH}/{live['id']}/deliveries", headers=tenant.headers("live")
    )
    assert response.json()["data"] == []
    assert receiver.fake.for_name("live-only") == []


async def test_operators_list_and_retry_deliveries_with_the_cli(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    endpoint = await create_endpoint(stack, tenant, receiver, "cli", events=["job.completed"])
    await done_job(stack, tenant)
    [row] = await settled(stack, tenant, endpoint["id"], 1)
    env = process_env(stack.settings)

    def scripe(*args: str) -> str:
        result = subprocess.run(
            [str(SCRIPE), "webhooks", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    listed = json.loads(
        scripe("endpoints", "--workspace", tenant.workspace_id, "--mode", "test", "--json")
    )
    assert [e["id"] for e in listed] == [endpoint["id"]]
    [shown] = json.loads(scripe("deliveries", endpoint["id"], "--json"))
    assert shown["id"] == row["id"] and shown["status"] == "DELIVERED"
    assert [a["statusCode"] for a in shown["attempts"]] == [204]
    scripe("retry", row["id"])

    async def sent_twice() -> list[Any] | None:
        got = receiver.fake.for_name("cli")
        return got if len(got) == 2 else None

    got = await eventually(sent_twice, timeout=30)
    assert got[0].webhook_id == got[1].webhook_id == row["eventId"]


async def test_after_a_rotation_deliveries_verify_with_the_old_and_the_new_secret(
    stack: Stack, tenant: Tenant, receiver: Receiver, llm: FakeLlm
) -> None:
    endpoint = await create_endpoint(stack, tenant, receiver, "rotated", events=["job.completed"])
    old = endpoint["secret"]
    rotated = await stack.http.post(
        f"{PATH}/{endpoint['id']}/rotate-secret", headers=tenant.headers()
    )
    new = rotated.json()["data"]["secret"]
    receiver.fake.secrets["rotated"] = [old]  # a receiver that has not switched yet
    await done_job(stack, tenant)
    await settled(stack, tenant, endpoint["id"], 1)
    [got] = receiver.fake.for_name("rotated")
    assert got.verified
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(got.body, got.headers)  # and one that has
