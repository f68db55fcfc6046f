"""Unknown API keys cost the database one query each, and a client address that tries
many is held back without slowing valid keys (services/auth.py)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from db.repo import api_keys as api_keys_repo
from devtools.tenants import make_key
from services.auth import UNAUTHENTICATED_PER_MINUTE, ApiKeyAuthenticator
from services.clock import SystemClock
from services.errors import InvalidToken, RateLimited
from tests.utils.inprocess import ApiStack


def random_key() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "scripe_sk_live_" + "".join(secrets.choice(alphabet) for _ in range(32))


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every key hash that reached the database (the real query still runs)."""
    seen: list[str] = []
    real = api_keys_repo.find_api_key

    async def counting(**kwargs: Any) -> Any:
        seen.append(kwargs["key_hash"])
        return await real(**kwargs)

    monkeypatch.setattr(api_keys_repo, "find_api_key", counting)
    return seen


def authenticator(stack: ApiStack) -> ApiKeyAuthenticator:
    return ApiKeyAuthenticator(
        db=stack.db, secret=stack.settings.signing_key(), cache_seconds=2, clock=SystemClock()
    )


async def test_an_unknown_key_is_looked_up_once(stack: ApiStack, lookups: list[str]) -> None:
    keys = authenticator(stack)
    token = random_key()
    for _ in range(5):
        with pytest.raises(InvalidToken):
            await keys.authenticate(f"Bearer {token}", client="198.51.100.7")
    assert len(lookups) == 1


async def test_an_address_trying_many_keys_is_limited_but_valid_keys_are_not(
    stack: ApiStack, lookups: list[str]
) -> None:
    keys = authenticator(stack)
    tenant = await stack.tenant()
    good, _ = await make_key(stack.db, stack.settings.signing_key(), tenant.workspace_id, "live")
    scanner = "203.0.113.9"
    await keys.authenticate(f"Bearer {good}", client=scanner)  # a customer behind the same NAT

    for _ in range(UNAUTHENTICATED_PER_MINUTE):
        with pytest.raises(InvalidToken):
            await keys.authenticate(f"Bearer {random_key()}", client=scanner)
    queries = len(lookups)
    with pytest.raises(RateLimited) as limited:
        await keys.authenticate(f"Bearer {random_key()}", client=scanner)
    assert int(limited.value.headers["Retry-After"]) >= 1
    assert len(lookups) == queries  # refused without a query

    # The valid key keeps working from that address, and other addresses are untouched.
    principal = await keys.authenticate(f"Bearer {good}", client=scanner)
    assert principal.workspace_id == tenant.workspace_id
    with pytest.raises(InvalidToken):
        await keys.authenticate(f"Bearer {random_key()}", client="192.0.2.1")
