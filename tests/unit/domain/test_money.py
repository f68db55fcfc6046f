"""Money in nanodollars: exact sums, cents rounded up only for display."""

from __future__ import annotations

from decimal import Decimal

from domain.money import cents_to_nanos, dollars_per_million_tokens_to_nanos, nanos_to_cents
from domain.plans import Plan, effective_cap_nanos
from domain.pricing import DEFAULT_PRICES, ModelPrice


def test_cents_round_up_only_for_display() -> None:
    assert nanos_to_cents(0) == 0
    assert nanos_to_cents(1) == 1  # any started cent counts
    assert nanos_to_cents(10_000_000) == 1
    assert nanos_to_cents(10_000_001) == 2
    assert cents_to_nanos(Decimal("0.5")) == 5_000_000 and cents_to_nanos(5) == 50_000_000


def test_token_prices_are_exact_in_nanodollars() -> None:
    assert dollars_per_million_tokens_to_nanos(Decimal("0.075"), 1) == 75
    assert dollars_per_million_tokens_to_nanos(Decimal("0.15"), 1_000_000) == 150_000_000
    assert dollars_per_million_tokens_to_nanos(Decimal("0.0001"), 1) == 1  # rounds up


def test_cached_and_reasoning_tokens() -> None:
    price = DEFAULT_PRICES["gpt-4o-mini"]
    # 1,000 input of which 400 cached; reasoning tokens are inside the 200 output tokens.
    assert price.cost_nanos(input_tokens=1000, cached_input_tokens=400, output_tokens=200) == (
        600 * 150 + 400 * 75 + 200 * 600
    )
    no_cache_price = ModelPrice(input=Decimal("1"), output=Decimal("2"))
    assert no_cache_price.cost_nanos(input_tokens=10, cached_input_tokens=5, output_tokens=0) == (
        10 * 1000
    )
    # Many small calls sum exactly: no per-call rounding to cents.
    total = sum(
        price.cost_nanos(input_tokens=7, cached_input_tokens=0, output_tokens=3)
        for _ in range(1000)
    )
    assert total == 1000 * (7 * 150 + 3 * 600)


def test_plan_caps_and_overrides() -> None:
    assert effective_cap_nanos(Plan.SOLO, None) == 500 * 10_000_000
    assert effective_cap_nanos(Plan.ADVANCED, None) == 2_000 * 10_000_000
    assert effective_cap_nanos(Plan.BUSINESS, None) == 5_000 * 10_000_000
    assert effective_cap_nanos(Plan.ENTERPRISE, None) is None
    assert effective_cap_nanos(Plan.ENTERPRISE, 100) == 100 * 10_000_000
    assert effective_cap_nanos(Plan.SOLO, 0) == 0
