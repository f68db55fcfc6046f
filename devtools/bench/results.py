"""Everything one run measured, in the shape the report prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from devtools.bench.stats import Samples


@dataclass
class LoadStep:
    """One open-loop step: offered jobs/s, what completed, and the CPU it cost."""

    offered: float
    samples: Samples
    cpu: dict[str, float]

    @property
    def achieved(self) -> float:
        return self.samples.rate

    def keeps_up(self, unloaded_p50: float) -> bool:
        """All submitted jobs finished at ≥ 95 % of the offered rate, p50 at most doubled."""
        return (
            self.samples.errors == 0
            and self.achieved >= 0.95 * self.offered
            and self.samples.p50 <= 2 * unloaded_p50
        )


@dataclass
class Results:
    floor: dict[str, Samples] = field(default_factory=dict)
    api: dict[str, Samples] = field(default_factory=dict)
    hit_rates: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    ramp: list[LoadStep] = field(default_factory=list)
    knee: float | None = None
    at_knee: dict[str, LoadStep] = field(default_factory=dict)  # "1×", "2×", "4×"
    not_held: list[LoadStep] = field(default_factory=list)  # candidate knees that fell behind
    slow_llm_ms: int = 2000
    environment: dict[str, str] = field(default_factory=dict)
