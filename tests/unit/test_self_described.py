"""The project describes itself: the README links the API reference in docs/, and no file
points outside the repository (to a shared spec, an issue tracker's numbers, …)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\.\./shared/|\bSPEC\b|§\s*\d|\bissues? \d+\b|\bitems? \d+(?:,| and)")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed if not name.endswith((".png", ".json"))]


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if path.name != Path(__file__).name and OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not offenders, "\n".join(offenders)


def test_the_readme_links_the_api_reference() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/api.md)" in readme
    reference = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for section in (
        "## Errors",
        "## Job error codes",
        "## Idempotency",
        "## AI spend",
        "## Pagination",
        "## The tone-profile file",
        "## Decisions",
    ):
        assert section in reference, section
