"""A screenshot of the Temporal Web UI showing a failed job, for the README's operator guide.

    .venv/bin/python -m devtools.screenshot [--out docs/operator-ui.png]

Starts everything it needs in a temporary folder and on free ports: the Temporal dev server
with its Web UI, the fake OpenAI server (so a live-mode job meets a provider 400), the
worker and the API. Submits a job through the API, waits until it FAILED, and has headless
Chromium (Debian's ``chromium``) photograph the job's User Metadata page: summary, details
and the current details that say why it failed and how to retry it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from cli.demo import KB_DOCUMENTS, PILLARS, SAMPLE_SOURCE, TONE_PROFILE, VOICE_SAMPLES
from cli.stack import temporal_executable
from config import Settings
from contracts import SEARCH_ATTRIBUTES
from db.engine import Database
from db.migrate import upgrade
from db.repo import api_keys, projects, workspaces
from devtools.browser import screenshot
from devtools.fake_openai import FakeOpenAI
from domain.retrieval import split_passages
from ids import new_api_key
from services.auth import hash_api_key
from services.operator_jobs import OperatorJobs
from worker import build_worker, worker_resources

DEFAULT_OUT = Path("docs/operator-ui.png")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _serve(app: Any) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _demo_tenant(db: Database, settings: Settings) -> tuple[str, str]:
    """A workspace with the demo project and a live key: (project id, API key)."""
    now = datetime.now(UTC)
    workspace = await workspaces.create_workspace(
        db=db, name="Demo Workspace", plan="SOLO", now=now
    )
    project = await projects.create_project(
        db=db,
        workspace_id=workspace.id,
        name="Lena Fischer — Growth Marketing",
        type="PERSONAL_BRAND",
        language="en",
        url=None,
        tone_profile=TONE_PROFILE,
        voice_samples=VOICE_SAMPLES,
        pillars=PILLARS,
        now=now,
    )
    for title, text in KB_DOCUMENTS:
        await projects.add_kb_document(
            db=db,
            project_id=project.id,
            title=title,
            text=text,
            source="demo",
            passages=split_passages(text),
            now=now,
        )
    token = new_api_key("live")
    await api_keys.create_api_key(
        db=db,
        workspace_id=workspace.id,
        mode="live",
        name="screenshot",
        key_hash=hash_api_key(settings.signing_key(), token),
        last4=token[-4:],
        expires_at=None,
        now=now,
    )
    return project.id, token


async def take(out: Path) -> str:
    """Run a failing job and photograph its page; returns the job id."""
    ui_port = _free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_executable()),
        search_attributes=list(SEARCH_ATTRIBUTES),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        ui=True,
        ui_port=ui_port,
    )
    fake = FakeOpenAI()
    with tempfile.TemporaryDirectory(prefix="scripe-screenshot-") as tmp:
        async with env, _serve(fake.app()) as llm_url:
            settings = Settings(
                data_dir=Path(tmp),
                database_url=f"sqlite+aiosqlite:///{tmp}/scripe.db",
                secret_key=secrets.token_urlsafe(32),
                temporal_address=env.client.service_client.config.target_host,
                temporal_ui_url=f"http://127.0.0.1:{ui_port}",
                openai_api_key="sk-fake",
                openai_base_url=f"{llm_url}/v1",
                log_format="text",
            )
            await upgrade(settings.database_url)
            app = create_app(settings, temporal_client=env.client, migrate=False)
            async with worker_resources(settings) as resources:
                worker = build_worker(env.client, settings, resources)
                async with worker, _serve(app) as api_url:
                    project_id, key = await _demo_tenant(resources.db, settings)
                    fake.script.append("400")  # the provider rejects the first call
                    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
                        response = await http.post(
                            "/v1/posts/generations",
                            json={
                                "projectId": project_id,
                                "source": {"text": SAMPLE_SOURCE},
                                "wait_for_completion_ms": 20_000,
                            },
                            headers={"Authorization": f"Bearer {key}"},
                        )
                    job = response.json()["data"]
                    if job["status"] != "FAILED":
                        raise RuntimeError(f"expected a FAILED job, got {job}")
                    operator = OperatorJobs(client=env.client, ui_url=settings.temporal_ui_url)
                    details = await operator.show(job["id"])
                    await screenshot(details.ui_url, out, width=1400, height=900)
    return str(job["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="PNG to write")
    args = parser.parse_args()
    job_id = asyncio.run(take(args.out))
    print(f"{args.out}: the Web UI page of {job_id}")


if __name__ == "__main__":
    main()
