"""The Temporal Web UI as the operator console: a real headless Chromium loads a job's page
from the session's dev server (its UI on ``temporal_ui_port``) and reads what it shows.

The UI renders summary, details and current details (markdown) in iframes whose ``src``
carries the text; ``--dump-dom`` returns the page after its scripts ran, iframes unexpanded.
Skipped when Debian's chromium is missing, unless SCRIPE_REQUIRE_BROWSER=1 (as in CI).
"""

from __future__ import annotations

import struct
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from devtools.browser import dump_dom
from devtools.screenshot import take
from devtools.tenants import Tenant
from tests.utils.jobs import done_job
from tests.utils.stack import FakeLlm, Stack
from tests.utils.waiting import eventually

METADATA_FRAMES = (
    "user-metadata-summary",
    "user-metadata-details",
    "user-metadata-current-details",
)


class _Frames(HTMLParser):
    """The markdown each user-metadata iframe renders, by iframe id."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "iframe" and values.get("id") in METADATA_FRAMES and values.get("src"):
            content = parse_qs(urlsplit(values["src"] or "").query).get("content", [""])
            self.texts[str(values["id"])] = content[0]


async def job_page(stack: Stack, ui_port: int, job_id: str) -> tuple[str, dict[str, str]]:
    """The DOM of the job's page (User Metadata tab) and the texts of its metadata frames."""
    run_id = (await stack.client.get_workflow_handle(job_id).describe()).run_id
    url = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows/{job_id}/{run_id}/user-metadata"

    async def loaded() -> tuple[str, dict[str, str]] | None:
        dom = await dump_dom(url)
        frames = _Frames()
        frames.feed(dom)
        return (dom, frames.texts) if set(frames.texts) == set(METADATA_FRAMES) else None

    return await eventually(loaded, timeout=60, interval=0.5)


async def test_web_ui_page_of_a_job_shows_its_summary(
    stack: Stack, tenant: Tenant, temporal_ui_port: int, chromium: str
) -> None:
    job = await done_job(stack, tenant, "test", wait_ms=15_000)
    assert job["status"] == "DONE"

    dom, frames = await job_page(stack, temporal_ui_port, job["id"])

    assert frames["user-metadata-summary"] == (
        f"Post generation · {tenant.project_id} · text · test"
    )
    assert f"**Workspace** {tenant.workspace_id} (test mode)" in frames["user-metadata-details"]
    assert frames["user-metadata-current-details"] == "Finished: DONE"
    assert job["id"] in dom and "PostGenerationWorkflow" in dom


async def test_web_ui_page_of_a_failed_job_says_why_it_failed(
    stack: Stack, tenant: Tenant, llm: FakeLlm, temporal_ui_port: int, chromium: str
) -> None:
    llm.fake.script.append("400")
    job = await done_job(stack, tenant, "live", wait_ms=15_000)
    assert job["status"] == "FAILED"

    _, frames = await job_page(stack, temporal_ui_port, job["id"])

    details = frames["user-metadata-current-details"]
    assert details.startswith("**Failed** · `provider_rejected`\n\nThe AI provider rejected")
    assert "BadRequestError: Error code: 400" in details
    assert f"scripe jobs retry {job['id']}" in details


async def test_screenshot_script_photographs_a_failed_job(tmp_path: Path, chromium: str) -> None:
    """``python -m devtools.screenshot`` (the README's picture) still works end to end."""
    out = tmp_path / "operator-ui.png"

    job_id = await take(out)

    assert job_id.startswith("job_")
    png = out.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1400, 900)
