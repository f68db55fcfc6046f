"""Every route × every kind of caller: the expected status, and nothing of the
owner's data in any answer to someone else. That ``ROUTES`` is every documented route is
checked in process (tests/unit/api/test_access_routes.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db.repo import api_keys as keys_repo
from devtools.tenants import Tenant, generation_body, make_key
from tests.utils.envelope import assert_envelope
from tests.utils.jobs import done_job
from tests.utils.routes import ROUTES
from tests.utils.stack import Stack


@dataclass(frozen=True)
class Owned:
    owner: Tenant
    job_id: str
    post_id: str
    endpoint_id: str = ""


# status for each caller that is not the owner; None: the route needs no key.
UNAUTHENTICATED = {
    "no key": (401, "invalid_token"),
    "malformed key": (401, "invalid_token"),
    "unknown key": (401, "invalid_token"),
    "revoked key": (401, "key_revoked"),
    "expired key": (401, "key_expired"),
}
# (other workspace, other mode of the same workspace)
AUTHENTICATED: dict[tuple[str, str], tuple[int, int]] = {
    ("POST", "/v1/posts/generations"): (404, 202),  # projects belong to the workspace
    ("GET", "/v1/posts/{post_id}"): (404, 404),
    ("GET", "/v1/posts"): (200, 200),
    ("GET", "/v1/jobs/{job_id}"): (404, 404),
    ("GET", "/v1/jobs"): (200, 200),
    ("POST", "/v1/jobs/{job_id}/cancel"): (404, 404),
    ("GET", "/v1/projects"): (200, 200),
    ("GET", "/v1/projects/{project_id}"): (404, 200),
    ("GET", "/v1/workspaces/me"): (200, 200),
    ("GET", "/v1/health"): (200, 200),
    ("POST", "/v1/webhook-endpoints"): (201, 201),  # each creates its own
    ("GET", "/v1/webhook-endpoints"): (200, 200),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): (404, 404),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): (404, 404),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): (404, 404),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): (404, 404),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): (404, 404),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"): (404, 404),
}


async def callers(stack: Stack, owner: Tenant) -> dict[str, dict[str, str]]:
    revoked, revoked_id = await make_key(
        stack.db, stack.settings.signing_key(), owner.workspace_id, "test"
    )
    await keys_repo.revoke_api_key(db=stack.db, key_id=revoked_id, now=datetime.now(UTC))
    expired, _ = await make_key(
        stack.db,
        stack.settings.signing_key(),
        owner.workspace_id,
        "test",
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    other = await stack.tenant()
    return {
        "no key": {},
        "malformed key": {"Authorization": "Bearer scripe_sk_test_short"},
        "unknown key": {"Authorization": "Bearer scripe_sk_test_" + "b" * 32},
        "revoked key": {"Authorization": f"Bearer {revoked}"},
        "expired key": {"Authorization": f"Bearer {expired}"},
        "other workspace": other.headers("test"),
        "other mode": owner.headers("live"),
    }


def request_for(route: tuple[str, str], owned: Owned) -> dict[str, Any]:
    method, template = route
    path = template.format(
        post_id=owned.post_id,
        job_id=owned.job_id,
        project_id=owned.owner.project_id,
        endpoint_id=owned.endpoint_id,
        delivery_id="whd_" + "a" * 26,
    )
    kwargs: dict[str, Any] = {"method": method, "url": path}
    if template == "/v1/posts":
        kwargs["params"] = {"projectId": owned.owner.project_id}
    if template == "/v1/posts/generations":
        kwargs["json"] = generation_body(owned.owner)
    if template == "/v1/webhook-endpoints":
        kwargs["json"] = {"url": "https://8.8.8.8/hooks", "events": ["job.completed"]}
    if method == "PATCH":
        kwargs["json"] = {"enabled": False}
    return kwargs


CALLERS = [*UNAUTHENTICATED, "other workspace", "other mode"]
# One test id per route and caller, in the order the matrix was always walked (routes
# outer): the owner's live-mode POST creates a job before the later routes are asked.
CASES = [(route, caller) for route in ROUTES for caller in CALLERS]


@pytest.fixture(scope="module")
async def owned(stack: Stack) -> Owned:
    """One owner for the whole matrix: a finished job, its post and a webhook endpoint."""
    stack.clock.reset()
    tenant = await stack.tenant()
    endpoint = await stack.http.post(
        "/v1/webhook-endpoints",
        json={"url": "https://8.8.8.8/hooks", "events": ["job.completed"]},
        headers=tenant.headers("test"),
    )
    job = await done_job(stack, tenant)
    return Owned(tenant, job["id"], job["result"]["postId"], endpoint.json()["data"]["id"])


@pytest.fixture(scope="module")
async def who(stack: Stack, owned: Owned) -> dict[str, dict[str, str]]:
    headers = await callers(stack, owned.owner)
    assert list(headers) == CALLERS  # every kind of caller has its own test ids
    return headers


@pytest.mark.parametrize(
    ("route", "caller"), CASES, ids=[f"{m} {path} as {caller}" for (m, path), caller in CASES]
)
async def test_every_route_for_every_kind_of_caller(
    stack: Stack, owned: Owned, who: dict[str, dict[str, str]], route: tuple[str, str], caller: str
) -> None:
    # Ids are unique; post text is not (other posts quote the same source), so ids it is.
    owner_secrets = {owned.job_id, owned.post_id}
    needs_key = route != ("GET", "/v1/health")
    response = await stack.http.request(**request_for(route, owned), headers=who[caller])
    where = f"{caller} {route}"
    if caller in UNAUTHENTICATED and needs_key:
        status, code = UNAUTHENTICATED[caller]
        assert_envelope(response, status, code)
    else:
        other_workspace, other_mode = AUTHENTICATED[route]
        expected = other_workspace if caller == "other workspace" else other_mode
        if expected == 202 and response.status_code == 200:
            expected = 200  # the job finished within the request: same rule
        assert response.status_code == expected, (where, response.text)
        if expected == 404:
            assert_envelope(response, 404, "not_found")
    leaked = [s for s in owner_secrets if s in response.text]
    if caller == "other workspace":
        leaked += [
            s for s in (owned.owner.workspace_id, owned.owner.project_id) if s in response.text
        ]
    assert not leaked, (where, leaked)
