"""Workspace plans and their default daily AI-spend caps."""

from __future__ import annotations

from enum import StrEnum

from domain.money import NANOS_PER_CENT


class Plan(StrEnum):
    SOLO = "SOLO"
    ADVANCED = "ADVANCED"
    BUSINESS = "BUSINESS"
    ENTERPRISE = "ENTERPRISE"


# None means unlimited.
DEFAULT_DAILY_CAP_CENTS: dict[Plan, int | None] = {
    Plan.SOLO: 500,
    Plan.ADVANCED: 2_000,
    Plan.BUSINESS: 5_000,
    Plan.ENTERPRISE: None,
}


def effective_cap_nanos(plan: Plan, override_cents: int | None) -> int | None:
    """The cap that applies today: an operator override wins over the plan default."""
    cents = override_cents if override_cents is not None else DEFAULT_DAILY_CAP_CENTS[plan]
    return None if cents is None else cents * NANOS_PER_CENT
