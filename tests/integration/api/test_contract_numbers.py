"""The contract's honest numbers, on jobs the worker really ran: the exact cost beside the
rounded cents, and the 402's arithmetic when the reservation does not fit (the contract's
input cases are tested in process, tests/unit/api/test_contract.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from devtools.tenants import Tenant, generation_body
from tests.utils.envelope import assert_envelope
from tests.utils.jobs import done_job
from tests.utils.stack import Stack


async def post(stack: Stack, tenant: Tenant, body: dict[str, Any]) -> httpx.Response:
    return await stack.http.post("/v1/posts/generations", json=body, headers=tenant.headers())


async def test_the_cost_is_exact_beside_the_rounded_cents(stack: Stack, tenant: Tenant) -> None:
    job = await done_job(stack, tenant, "test", wait_ms=15_000)
    cost = job["cost"]
    usd = Decimal(cost["actualUsd"])
    assert usd > 0 and cost["actualCents"] == int((usd * 100).to_integral_value("ROUND_CEILING"))
    assert usd * 100 < cost["actualCents"]  # a fraction of a cent, billed exactly


async def test_a_402_says_the_estimate_does_not_fit_with_the_numbers(stack: Stack) -> None:
    tenant = await stack.tenant(cap_cents=3)  # below the 5¢ estimate, nothing spent yet
    response = await post(stack, tenant, generation_body(tenant))
    error = assert_envelope(response, 402, "spend_cap_exceeded")
    meta = error["meta"]
    assert (meta["capCents"], meta["spentCents"], meta["estimateCents"]) == (3, 0, 5)
    assert "estimate of 5 cents does not fit" in error["message"]
    assert "cap of 3 cents" in error["message"] and "3 cents left" in error["message"]
    assert "has been reached" not in error["message"]
