"""Money in integer nanodollars (1e-9 USD).

A token priced at $0.075 per million costs 75 nanodollars, so every configured price with
up to three decimals is exact; sums never drift. Cents are for display only and round up.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal

NANOS_PER_CENT = 10_000_000
NANOS_PER_DOLLAR = 100 * NANOS_PER_CENT


def cents_to_nanos(cents: Decimal | int) -> int:
    return int((Decimal(cents) * NANOS_PER_CENT).to_integral_value(rounding=ROUND_CEILING))


def nanos_to_cents(nanos: int) -> int:
    """Cents shown to customers: any started cent counts (rounded up)."""
    return math.ceil(nanos / NANOS_PER_CENT) if nanos > 0 else 0


def dollars_per_million_tokens_to_nanos(price: Decimal, tokens: int) -> int:
    """Cost of ``tokens`` at ``price`` USD per 1M tokens, rounded up to a nanodollar."""
    exact = Decimal(tokens) * price * NANOS_PER_DOLLAR / Decimal(1_000_000)
    return int(exact.to_integral_value(rounding=ROUND_CEILING))
