"""docs/offline-writer.md shows what the offline writer writes today."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.domain.writer_examples import EXAMPLES

DOC = Path(__file__).resolve().parents[3] / "docs" / "offline-writer.md"


def test_the_documented_after_posts_are_what_the_writer_writes() -> None:
    shown = re.findall(
        r"\*\*After\*\* \((\d+) characters\)\n\n```text\n(.*?)\n```", DOC.read_text(), re.S
    )
    assert len(shown) == len(EXAMPLES) == 5
    for (length, post), example in zip(shown, EXAMPLES, strict=True):
        assert post == example.write()[1], example.name
        assert int(length) == len(post)
