"""Everything one run measured, in the shape the report prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from devtools.bench.stats import Samples

# The back-to-back GETs alternated with the minimal FastAPI baseline (runner, report).
AB_OURS = "GET A/B, ours, back to back"
AB_BASELINE = "GET A/B, baseline, back to back"


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
    # CPU seconds all cores were busy during a measurement (/proc/stat): includes other work.
    machine_cpu_seconds: dict[str, float] = field(default_factory=dict)
    ramp: list[LoadStep] = field(default_factory=list)
    knee: float | None = None
    at_knee: dict[str, LoadStep] = field(default_factory=dict)  # "1×", "2×", "4×"
    not_held: list[LoadStep] = field(default_factory=list)  # candidate knees that fell behind
    slow_llm_ms: int = 2000
    scaled_out: bool = False  # two workers and two API processes (the slow-LLM phase is off)
    environment: dict[str, str] = field(default_factory=dict)
    # (e) webhooks: POST-to-DONE with and without two endpoints, alternated, and the lag.
    webhooks: dict[str, Samples] = field(default_factory=dict)
    webhook_counts: dict[str, int] = field(default_factory=dict)


def stack_ms_per_op(results: Results, name: str, samples: Samples) -> float:
    """CPU of every process of the stack (and the bench's own) per completed operation."""
    total_pct = sum(results.cpu.get(name, {}).values())
    return (
        total_pct / 100 * samples.wall_seconds * 1000 / samples.count
        if samples.count
        else float("nan")
    )


def machine_ms_per_op(results: Results, name: str, samples: Samples) -> float:
    busy = results.machine_cpu_seconds.get(name)
    return busy * 1000 / samples.count if busy is not None and samples.count else float("nan")
