"""Scenario results: one row each in RELIABILITY.md, and JSON for machines."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    name: str
    injected: str
    times: str
    checked: str
    passed: bool = True
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.passed = False
            self.problems.append(problem)

    def summary(self) -> str:
        figures = "; ".join(f"{k}: {_fmt(v)}" for k, v in self.figures.items())
        verdict = "PASS" if self.passed else "FAIL: " + " | ".join(self.problems[:5])
        return f"{verdict} — {figures}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items()) or "–"
    return str(value)


def markdown_table(results: list[Result]) -> str:
    lines = [
        "| scenario | injected | how many times | checked | result |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        cells = [r.name, r.injected, r.times, r.checked, r.summary()]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def write_json(results: list[Result], path: Path) -> None:
    path.write_text(json.dumps([asdict(r) for r in results], indent=2, default=str))
