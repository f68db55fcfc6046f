"""``python -m devtools.bench.asgi_cost --paired-with DIR``: two checkouts in one run, each
in a worker process on its own modules, rounds alternated (the A/B a shared machine needs)."""

from __future__ import annotations

import re
from pathlib import Path

from devtools.bench.asgi_cost import paired

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_paired_with_itself_answers_every_round() -> None:
    report = paired(ROOT, rounds=2, requests=3)
    this, other, ab = report.splitlines()[0], report.splitlines()[3], report.splitlines()[-1]
    assert this.startswith(f"this ({ROOT}): CPU per GET, median of 2 rounds of 3")
    assert other.startswith(f"other ({ROOT}): CPU per GET, median of 2 rounds of 3")
    assert re.fullmatch(r"API CPU per GET, this ÷ other, median of the paired rounds: [0-9.]+×", ab)
