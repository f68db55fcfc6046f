"""How much of each measurement a run takes: the full run, or ``--quick`` for a smoke test."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    warmup: int
    serial: int  # samples of each serial (concurrency 1) measurement
    per_client: int  # samples per concurrent client at concurrency 16 and 64
    poll_seconds: float
    slow_jobs: int  # POST-to-DONE samples with the 2 s LLM
    ramp_seconds: float  # each step of the search for the knee
    sustain_seconds: float  # at the knee
    overload_seconds: float  # at 2× and 4× the knee


FULL = Plan(
    warmup=30,
    serial=200,
    per_client=10,
    poll_seconds=15,
    slow_jobs=16,
    ramp_seconds=10,
    sustain_seconds=60,
    overload_seconds=20,
)
QUICK = Plan(
    warmup=5,
    serial=20,
    per_client=2,
    poll_seconds=3,
    slow_jobs=2,
    ramp_seconds=3,
    sustain_seconds=5,
    overload_seconds=3,
)
