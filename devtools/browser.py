"""Headless Chromium (Debian's ``chromium`` package) for UI tests and screenshots.

Chromium runs as a subprocess with a fresh profile; ``--virtual-time-budget`` lets the
page's own requests finish before the DOM is dumped or the screenshot taken.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

INSTALL_HINT = "apt-get install -y chromium"
_TIMEOUT_SECONDS = 90.0


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _command(executable: str, profile: str, budget_ms: int) -> list[str]:
    return [
        executable,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}",
    ]


async def _run(arguments: list[str], *, budget_ms: int) -> bytes:
    executable = find_chromium()
    if executable is None:
        raise BrowserError(f"chromium is not installed ({INSTALL_HINT})")
    with tempfile.TemporaryDirectory(prefix="scripe-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            *_command(executable, profile, budget_ms),
            *arguments,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(_TIMEOUT_SECONDS):
                stdout, stderr = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise BrowserError(f"chromium did not finish within {_TIMEOUT_SECONDS:.0f}s") from None
    if process.returncode != 0:
        raise BrowserError(f"chromium exited with {process.returncode}: {stderr.decode()[-500:]}")
    return stdout


async def dump_dom(url: str, *, budget_ms: int = 15_000) -> str:
    """The page's DOM after its scripts ran (as the user would see it, minus iframes)."""
    return (await _run(["--dump-dom", url], budget_ms=budget_ms)).decode()


async def screenshot(
    url: str, path: Path, *, width: int = 1400, height: int = 1000, budget_ms: int = 15_000
) -> None:
    """A PNG of the page's viewport."""
    path.parent.mkdir(parents=True, exist_ok=True)
    await _run(
        [f"--window-size={width},{height}", f"--screenshot={path.resolve()}", url],
        budget_ms=budget_ms,
    )
    if not path.exists():
        raise BrowserError(f"chromium wrote no screenshot to {path}")
