"""API keys against jobs that really ran: another workspace or the other mode of the same
workspace sees 404 for a finished job and its post (the key rules themselves are tested in
process, tests/unit/api/test_auth.py)."""

from __future__ import annotations

from devtools.tenants import Tenant, generation_body
from tests.utils.envelope import assert_envelope
from tests.utils.stack import Stack


async def test_other_workspaces_and_modes_see_404_everywhere(stack: Stack, tenant: Tenant) -> None:
    created = await stack.http.post(
        "/v1/posts/generations",
        json=generation_body(tenant, wait_for_completion_ms=10_000),
        headers=tenant.headers("test"),
    )
    job = created.json()["data"]
    post_id = job["result"]["postId"]
    other = await stack.tenant()
    strangers = {"other workspace": other.headers("test"), "live mode": tenant.headers("live")}
    for who, headers in strangers.items():
        for method, path in (
            ("GET", f"/v1/jobs/{job['id']}"),
            ("POST", f"/v1/jobs/{job['id']}/cancel"),
            ("GET", f"/v1/posts/{post_id}"),
        ):
            response = await stack.http.request(method, path, headers=headers)
            assert_envelope(response, 404, "not_found"), who
        listed = await stack.http.get("/v1/jobs", headers=headers)
        assert job["id"] not in {j["id"] for j in listed.json()["data"]}, who
        posts = await stack.http.get(
            "/v1/posts", params={"projectId": tenant.project_id}, headers=headers
        )
        assert posts.json()["data"] == [], who
    # Projects belong to the workspace (both modes), never to another workspace.
    foreign = await stack.http.get(f"/v1/projects/{tenant.project_id}", headers=other.headers())
    assert_envelope(foreign, 404, "not_found")
    own_live = await stack.http.get(
        f"/v1/projects/{tenant.project_id}", headers=tenant.headers("live")
    )
    assert own_live.status_code == 200
