"""/docs renders the OpenAPI 3.1 document offline: a real headless Chromium loads the page
from the running API (assets served by the API itself, no network) and the DOM it builds
lists every operation — not just "the assets load"."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from devtools.browser import dump_dom, screenshot
from tests.utils.openapi import OPERATION_IDS
from tests.utils.stack import Stack
from tests.utils.waiting import eventually


class _Operations(HTMLParser):
    """(method, path) of every operation block Swagger UI rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: set[tuple[str, str]] = set()
        self._method: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if "opblock" in classes:
            methods = [c.removeprefix("opblock-") for c in classes if c.startswith("opblock-")]
            verbs = ("get", "post", "patch", "delete")
            self._method = next((m for m in methods if m in verbs), None)
        if "opblock-summary-path" in classes and self._method and values.get("data-path"):
            self.operations.add((self._method, str(values["data-path"])))


async def rendered(url: str) -> tuple[str, set[tuple[str, str]]] | None:
    dom = await dump_dom(url, budget_ms=20_000)
    parser = _Operations()
    parser.feed(dom)
    expected = set(OPERATION_IDS)
    return (dom, parser.operations) if expected <= parser.operations else None


async def test_docs_render_every_operation_in_a_real_browser(
    stack: Stack,
    chromium: str,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    dom, operations = await eventually(
        lambda: rendered(f"{stack.base_url}/docs"), timeout=120, interval=1
    )
    assert operations >= set(OPERATION_IDS)
    assert "Unable to render this definition" not in dom
    assert "Scripe post-generation API" in dom and "OAS 3.1" in dom

    shot = tmp_path / "docs.png"
    await screenshot(f"{stack.base_url}/docs", shot, width=1400, height=1000)
    assert shot.read_bytes().startswith(b"\x89PNG")
