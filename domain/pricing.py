"""What a provider call costs: reported tokens × the configured per-model prices."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from domain.money import dollars_per_million_tokens_to_nanos


class ModelPrice(BaseModel):
    """Provider list prices in US dollars per one million tokens."""

    input: Decimal = Field(ge=0)
    cached_input: Decimal | None = Field(default=None, ge=0)
    output: Decimal = Field(ge=0)

    def cost_nanos(self, *, input_tokens: int, cached_input_tokens: int, output_tokens: int) -> int:
        """Cost in nanodollars. Cached tokens are part of ``input_tokens`` (OpenAI's usage
        convention) and billed at the cached price; reasoning tokens are part of
        ``output_tokens`` and billed as output."""
        cached = max(0, min(cached_input_tokens, input_tokens))
        cached_price = self.cached_input if self.cached_input is not None else self.input
        return (
            dollars_per_million_tokens_to_nanos(self.input, input_tokens - cached)
            + dollars_per_million_tokens_to_nanos(cached_price, cached)
            + dollars_per_million_tokens_to_nanos(self.output, output_tokens)
        )


# Published OpenAI list prices (USD per 1M tokens); override with SCRIPE_LLM_PRICES.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(
        input=Decimal("0.15"), cached_input=Decimal("0.075"), output=Decimal("0.60")
    ),
    "gpt-4o": ModelPrice(input=Decimal("2.50"), cached_input=Decimal("1.25"), output=Decimal("10")),
    "gpt-4.1-mini": ModelPrice(
        input=Decimal("0.40"), cached_input=Decimal("0.10"), output=Decimal("1.60")
    ),
}


def estimate_tokens(text: str) -> int:
    """Rough token count of text for the offline writer (about four characters a token)."""
    return max(1, (len(text) + 3) // 4)


# Chat formatting adds a few tokens per message and to prime the answer (OpenAI's counting
# rule); rounded up so the bound holds for any OpenAI-compatible server.
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3


def prompt_token_bound(messages: list[dict[str, str]]) -> int:
    """An upper bound on the prompt tokens of ``messages``, whatever the tokenizer: a
    byte-level BPE token covers at least one UTF-8 byte."""
    return TOKENS_PER_REPLY + sum(
        TOKENS_PER_MESSAGE + len(m.get("role", "").encode()) + len(m.get("content", "").encode())
        for m in messages
    )


def worst_case_nanos(price: ModelPrice, *, prompt_tokens: int, max_output_tokens: int) -> int:
    """The most one call can cost: every prompt token uncached, all of ``max_tokens``."""
    return price.cost_nanos(
        input_tokens=prompt_tokens, cached_input_tokens=0, output_tokens=max_output_tokens
    )
