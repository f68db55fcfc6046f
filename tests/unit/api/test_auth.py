"""API keys: bearer tokens, modes kept apart, revocation and expiry, hashes only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from config import Settings
from db.repo import api_keys as keys_repo
from devtools.tenants import Tenant, make_key
from services.auth import hash_api_key
from tests.utils.envelope import assert_envelope
from tests.utils.inprocess import ApiStack
from tests.utils.waiting import eventually


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer \tx",
        "Basic dXNlcjpwdw==",
        "Bearer sk-openai-style-key",
        "Bearer scripe_sk_live_tooshort",
        "Bearer scripe_sk_prod_" + "a" * 32,
        "Bearer scripe_sk_live_" + "a" * 32,  # well formed, unknown
        "Bearer scripe_sk_live_" + "A" * 32,
        ("Bearer scripe_sk_live_" + "a" * 31 + "\u00e9").encode(),
        b"Bearer \xff\xfe",
    ],
)
async def test_missing_malformed_or_unknown_keys_are_invalid_token(
    stack: ApiStack, authorization: str | bytes | None
) -> None:
    raw = authorization.encode() if isinstance(authorization, str) else authorization
    headers = [] if raw is None else [(b"Authorization", raw)]
    response = await stack.http.get("/v1/workspaces/me", headers=headers)
    assert_envelope(response, 401, "invalid_token")


async def test_a_key_identifies_its_workspace_and_mode(stack: ApiStack, tenant: Tenant) -> None:
    for mode in ("live", "test"):
        response = await stack.http.get("/v1/workspaces/me", headers=tenant.headers(mode))
        data = response.json()["data"]
        assert data["workspace"]["id"] == tenant.workspace_id
        assert data["workspace"]["plan"] == "SOLO"
        assert data["principal"]["type"] == "api_key" and data["principal"]["mode"] == mode
        assert data["principal"]["id"].startswith("key_")


async def test_lowercase_bearer_scheme_is_accepted(stack: ApiStack, tenant: Tenant) -> None:
    response = await stack.http.get(
        "/v1/workspaces/me", headers={"Authorization": f"bearer {tenant.test_key}"}
    )
    assert response.status_code == 200


async def test_revocation_takes_effect_at_once(stack: ApiStack, tenant: Tenant) -> None:
    token, key_id = await make_key(
        stack.db, stack.settings.signing_key(), tenant.workspace_id, "live"
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert (await stack.http.get("/v1/workspaces/me", headers=headers)).status_code == 200
    await keys_repo.revoke_api_key(db=stack.db, key_id=key_id, now=datetime.now(UTC))
    response = await stack.http.get("/v1/workspaces/me", headers=headers)
    assert_envelope(response, 401, "key_revoked")


async def test_expired_keys_are_refused(stack: ApiStack, tenant: Tenant) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    token, _ = await make_key(
        stack.db, stack.settings.signing_key(), tenant.workspace_id, "test", expires_at=soon
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert (await stack.http.get("/v1/workspaces/me", headers=headers)).status_code == 200
    stack.clock.advance(timedelta(hours=2))
    response = await stack.http.get("/v1/workspaces/me", headers=headers)
    assert_envelope(response, 401, "key_expired")


async def test_keys_are_stored_only_as_keyed_hashes(stack: ApiStack, tenant: Tenant) -> None:
    async with stack.db.read() as session:
        rows = (await session.execute(text("SELECT * FROM api_keys"))).all()
    dump = repr(rows)
    assert tenant.live_key not in dump and tenant.test_key not in dump
    assert hash_api_key(stack.settings.signing_key(), tenant.live_key) in dump
    # A different server secret gives a different hash: a leaked table is not a key list.
    assert hash_api_key(b"another-secret", tenant.live_key) not in dump


async def test_with_caching_a_revoked_key_stops_working_within_the_ttl(stack: ApiStack) -> None:
    from services.auth import ApiKeyAuthenticator
    from services.clock import SystemClock
    from services.errors import KeyRevoked

    tenant = await stack.tenant()
    token, key_id = await make_key(
        stack.db, stack.settings.signing_key(), tenant.workspace_id, "live"
    )
    authenticator = ApiKeyAuthenticator(
        db=stack.db, secret=stack.settings.signing_key(), cache_seconds=0.3, clock=SystemClock()
    )
    await authenticator.authenticate(f"Bearer {token}")
    await keys_repo.revoke_api_key(db=stack.db, key_id=key_id, now=datetime.now(UTC))
    await authenticator.authenticate(f"Bearer {token}")  # served from the cache

    async def refused() -> bool:
        try:
            await authenticator.authenticate(f"Bearer {token}")
        except KeyRevoked:
            return True
        return False

    await eventually(refused, timeout=2)
    with pytest.raises(ValueError):
        Settings(key_cache_seconds=6)  # the cache may never outlive the spec's 5 seconds
