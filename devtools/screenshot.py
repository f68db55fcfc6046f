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
import secrets
import tempfile
from pathlib import Path

import httpx
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from cli.demo import SAMPLE_SOURCE
from cli.stack import temporal_executable
from config import Settings
from contracts import SEARCH_ATTRIBUTES
from db.migrate import upgrade
from devtools.browser import screenshot
from devtools.fake_openai import FakeOpenAI
from devtools.serving import free_port, serve
from devtools.tenants import make_tenant
from services.operator_jobs import OperatorJobs
from worker import build_worker, worker_resources

DEFAULT_OUT = Path("docs/operator-ui.png")


async def take(out: Path) -> str:
    """Run a failing job and photograph its page; returns the job id."""
    ui_port = free_port()
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
        async with env, serve(fake.app(), lifespan="off") as llm_url:
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
                async with worker, serve(app) as api_url:
                    tenant = await make_tenant(
                        resources.db,
                        settings.signing_key(),
                        name="Demo Workspace",
                        demo_voice=True,
                    )
                    project_id, key = tenant.project_id, tenant.live_key
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
