"""A client generated from the served /openapi.json by ``openapi-python-client`` (a
generator nobody here wrote) installs and runs the whole flow against the running stack:
submit → wait → read the post → list with cursors → each documented error, every
response parsed by the generated models."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devtools.tenants import Tenant
from tests.utils.stack import Stack
from tests.utils.waiting import eventually

BIN = Path(sys.executable).parent
PACKAGE = "scripe_generated_client"


def _run(*command: str, cwd: Path) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("generated-client")


async def install_client(stack: Stack, workdir: Path) -> ModuleType:
    """Generate from the document the API serves, pip-install into a target directory
    (offline: the generated setup.py builds with the venv's setuptools), import it."""
    document = await stack.http.get("/openapi.json")
    assert document.status_code == 200
    (workdir / "openapi.json").write_text(document.text)
    (workdir / "config.json").write_text(
        json.dumps(
            {"project_name_override": "scripe-generated-client", "package_name_override": PACKAGE}
        )
    )
    _run(
        str(BIN / "openapi-python-client"),
        "generate",
        "--path",
        "openapi.json",
        "--config",
        "config.json",
        "--meta",
        "setup",
        "--output-path",
        "client",
        "--fail-on-warning",
        cwd=workdir,
    )
    _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--target",
        "site",
        "./client",
        cwd=workdir,
    )
    sys.path.insert(0, str(workdir / "site"))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir / "site"))


def api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def models() -> Any:
    return importlib.import_module(f"{PACKAGE}.models")


def code_of(response: Any) -> str:
    return str(response.parsed.error.code.value)


async def test_a_generated_client_runs_the_whole_flow(
    stack: Stack, tenant: Tenant, generated: Path
) -> None:
    package = await install_client(stack, generated)
    m = models()
    client = package.AuthenticatedClient(base_url=stack.base_url, token=tenant.test_key)
    create = api("posts.create_post_generation")
    get_job = api("jobs.get_job")
    list_jobs = api("jobs.list_jobs")
    get_post = api("posts.get_post")
    list_posts = api("posts.list_posts")

    # Submit, wait, read the post.
    def body(text: str = "We cut churn by a third by calling every new customer.") -> Any:
        return m.GenerationCreate(project_id=tenant.project_id, source=m.TextSource(text=text))

    submitted = await create.asyncio_detailed(client=client, body=body(), idempotency_key="gen-1")
    assert submitted.status_code in (200, 202), submitted.content
    assert submitted.headers["idempotent-replayed"] == "false"
    job_id = submitted.parsed.data.id

    async def finished() -> Any:
        response = await get_job.asyncio_detailed(job_id, client=client)
        assert response.status_code == 200, response.content
        job = response.parsed.data
        return job if job.status.value == "DONE" else None

    job = await eventually(finished, timeout=30)
    assert job.result.post_id.startswith("post_") and job.cost.actual_usd
    post = await get_post.asyncio_detailed(job.result.post_id, client=client)
    assert post.status_code == 200 and post.parsed.data.job_id == job_id
    assert post.parsed.data.content

    # Two more jobs, then list them one per page by following the cursors.
    for n in range(2):
        more = await create.asyncio_detailed(client=client, body=body(f"Second post {n}: hiring."))
        assert more.status_code in (200, 202), more.content
    seen: list[str] = []
    cursor: Any = package.types.UNSET
    while True:
        page = await list_jobs.asyncio_detailed(client=client, limit=1, cursor=cursor)
        assert page.status_code == 200, page.content
        assert int(page.headers["x-ratelimit-remaining"]) >= 0
        seen += [j.id for j in page.parsed.data]
        if not page.parsed.pagination.has_more:
            break
        cursor = page.parsed.pagination.next_cursor
    assert len(seen) == len(set(seen)) >= 3 and job_id in seen
    posts = await list_posts.asyncio_detailed(client=client, project_id=tenant.project_id, limit=1)
    assert posts.status_code == 200 and len(posts.parsed.data) == 1
    assert posts.parsed.pagination.has_more in (True, False)


async def test_every_documented_error_parses_through_the_generated_client(
    stack: Stack, tenant: Tenant, generated: Path
) -> None:
    package = sys.modules.get(PACKAGE) or await install_client(stack, generated)
    m = models()
    client = package.AuthenticatedClient(base_url=stack.base_url, token=tenant.test_key)
    create = api("posts.create_post_generation")
    get_job = api("jobs.get_job")
    list_jobs = api("jobs.list_jobs")
    cancel = api("jobs.cancel_job")
    me = api("workspaces.get_current_workspace")

    def body(**fields: Any) -> Any:
        return m.GenerationCreate(
            project_id=fields.pop("project_id", tenant.project_id),
            source=m.TextSource(text=fields.pop("text", "Hiring: what we learned.")),
            **fields,
        )

    async def expect(call: Any, status: int, code: str) -> Any:
        response = await call
        assert response.status_code == status, response.content
        assert isinstance(response.parsed, m.ErrorEnvelope), response.content
        assert code_of(response) == code
        assert response.headers["x-request-id"] == response.parsed.error.request_id
        return response

    await expect(
        create.asyncio_detailed(client=client, body=body(), idempotency_key="has space!"),
        400,
        "invalid_request",
    )
    await expect(list_jobs.asyncio_detailed(client=client, limit=0), 400, "bad_pagination")
    await expect(list_jobs.asyncio_detailed(client=client, cursor="nope"), 400, "bad_cursor")
    await expect(
        me.asyncio_detailed(client=client, scripe_api_version="1999-01-01"),
        400,
        "version_unsupported",
    )
    stranger = package.AuthenticatedClient(
        base_url=stack.base_url, token="scripe_sk_test_" + "a" * 32
    )
    unauthorized = await expect(me.asyncio_detailed(client=stranger), 401, "invalid_token")
    assert unauthorized.headers["www-authenticate"] == "Bearer"
    capped = await stack.tenant(cap_cents=0)
    capped_client = package.AuthenticatedClient(base_url=stack.base_url, token=capped.test_key)
    refused = await expect(
        create.asyncio_detailed(
            client=capped_client,
            body=m.GenerationCreate(
                project_id=capped.project_id, source=m.TextSource(text="Hiring.")
            ),
        ),
        402,
        "spend_cap_exceeded",
    )
    assert refused.parsed.error.meta["capCents"] == 0
    await expect(
        get_job.asyncio_detailed("job_doesnotexist000000", client=client), 404, "not_found"
    )
    await expect(
        create.asyncio_detailed(client=client, body=body(project_id="proj_x")), 404, "not_found"
    )
    first = await create.asyncio_detailed(client=client, body=body(), idempotency_key="conflict")
    assert first.status_code in (200, 202)
    await expect(
        create.asyncio_detailed(
            client=client, body=body(text="Other."), idempotency_key="conflict"
        ),
        409,
        "idempotency_key_conflict",
    )
    done = await create.asyncio_detailed(client=client, body=body(wait_for_completion_ms=15_000))
    assert done.status_code == 200 and done.parsed.data.status.value == "DONE"
    await expect(
        cancel.asyncio_detailed(done.parsed.data.id, client=client), 409, "not_cancellable"
    )
    await expect(
        create.asyncio_detailed(client=client, body=body(text="x" * 300_000)),
        413,
        "payload_too_large",
    )
    from datetime import UTC, datetime

    await expect(
        create.asyncio_detailed(
            client=client, body=body(scheduled_for=datetime(2001, 1, 1, tzinfo=UTC))
        ),
        422,
        "unprocessable",
    )
    limited = await stack.tenant(rate_limit=1)
    limited_client = package.AuthenticatedClient(base_url=stack.base_url, token=limited.test_key)
    assert (await me.asyncio_detailed(client=limited_client)).status_code == 200
    too_many = await expect(me.asyncio_detailed(client=limited_client), 429, "rate_limited")
    assert int(too_many.headers["retry-after"]) >= 1


async def test_a_503_parses_through_the_generated_client(
    stack: Stack, tenant: Tenant, generated: Path
) -> None:
    """provider_not_configured: a live key on a server without an AI provider."""
    from api.main import create_app
    from devtools.serving import serve

    package = sys.modules.get(PACKAGE) or await install_client(stack, generated)
    m = models()
    settings = stack.settings.model_copy(update={"openai_api_key": None})
    app = create_app(settings, clock=stack.clock, temporal_client=stack.client, migrate=False)
    async with serve(app) as url:
        client = package.AuthenticatedClient(base_url=url, token=tenant.live_key)
        response = await api("posts.create_post_generation").asyncio_detailed(
            client=client,
            body=m.GenerationCreate(project_id=tenant.project_id, source=m.TextSource(text="Hi.")),
        )
    assert response.status_code == 503 and code_of(response) == "provider_not_configured"
