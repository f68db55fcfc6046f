"""Hostile input: schemathesis on every operation with every kind of key, on SQLite and
(when reachable) on PostgreSQL, whose text handling differs (it refuses NUL characters)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
from schemathesis import GenerationMode

from db.engine import Database
from db.migrate import upgrade
from db.repo import api_keys
from devtools.chaos.context import Context
from devtools.chaos.fuzz import FuzzStats, fuzz
from devtools.chaos.report import Result
from devtools.chaos.stack import ChaosStack, Child
from devtools.chaos.traffic import submit
from devtools.tenants import Tenant, make_key, make_tenant

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BOTH = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
VALID = [GenerationMode.POSITIVE]


async def key_variants(db: Database, secret: bytes, tenant: Tenant) -> dict[str, dict[str, str]]:
    revoked, revoked_id = await make_key(db, secret, tenant.workspace_id, "live")
    await api_keys.revoke_api_key(db=db, key_id=revoked_id, now=datetime.now(UTC))
    expired, _ = await make_key(
        db, secret, tenant.workspace_id, "test", expires_at=datetime.now(UTC) - timedelta(days=1)
    )
    bearer = "Authorization"
    return {
        "test key": {bearer: f"Bearer {tenant.test_key}"},
        "live key": {bearer: f"Bearer {tenant.live_key}"},
        "no key": {},
        "malformed key": {bearer: "Bearer scripe_sk_live_tooshort"},
        "unknown key": {bearer: "Bearer scripe_sk_live_" + "a" * 32},
        "revoked key": {bearer: f"Bearer {revoked}"},
        "expired key": {bearer: f"Bearer {expired}"},
    }


async def fuzz_api(
    base_url: str, db: Database, secret: bytes, tenant: Tenant, examples: int, known: dict[str, str]
) -> FuzzStats:
    keys = await key_variants(db, secret, tenant)
    variants = {
        name: (headers, BOTH if name == "test key" else VALID) for name, headers in keys.items()
    }
    stats = await asyncio.to_thread(fuzz, base_url, variants, examples=examples)
    # Real ids in the path, so generated bodies and queries reach the resources themselves.
    with_ids = {"test key, real ids": (keys["test key"], BOTH)}
    more = await asyncio.to_thread(
        fuzz, base_url, with_ids, examples=examples, path_parameters=known
    )
    stats.requests += more.requests
    stats.by_status.update(more.by_status)
    stats.problems += more.problems
    stats.conformance.update(more.conformance)
    stats.protocol_refusals += more.protocol_refusals
    return stats


async def hostile_input(ctx: Context) -> Result:
    examples = 25 if ctx.short else 60
    result = Result(
        "Hostile input (schemathesis)",
        "generated valid and invalid requests from /openapi.json on every operation, with a "
        "test key, a live key, no key, a malformed, unknown, revoked and expired key, and "
        "with real resource ids; on SQLite and on PostgreSQL",
        f"{examples} examples per operation, key and mode",
        "no 5xx; every error in the envelope with a documented code and the response's "
        "request id; X-Request-Id everywhere; responses conform to /openapi.json",
    )
    started = time.monotonic()
    secret = ctx.stack.settings.signing_key()
    tenant = await ctx.tenant("chaos-fuzz", rate_limit=1_000_000)
    done = await submit(ctx.http, tenant, mode="test", wait_for_completion_ms=10_000)
    known = await _known_ids(ctx, tenant, done.job_id)
    main = "sqlite" if ctx.stack.settings.is_sqlite else "postgres (main stack)"
    runs = {main: await fuzz_api(ctx.stack.api_url, ctx.db, secret, tenant, examples, known)}
    async with postgres_api(ctx.stack) as pg:
        if pg is not None:
            base_url, db = pg
            pg_tenant = await make_tenant(
                db, secret, name="chaos-fuzz", plan="ENTERPRISE", rate_limit=1_000_000
            )
            pg_known = {"project_id": pg_tenant.project_id}
            runs["postgres"] = await fuzz_api(base_url, db, secret, pg_tenant, examples, pg_known)
            await db.dispose()
    for name, stats in runs.items():
        result.figures[f"{name} requests"] = stats.requests
        result.figures[f"{name} statuses"] = dict(sorted(stats.by_status.items()))
        if stats.protocol_refusals:
            result.figures[f"{name} invalid HTTP refused by uvicorn"] = stats.protocol_refusals
        for problem in stats.problems:
            result.expect(False, f"{name}: {problem}")
        for finding, count in stats.conformance.items():
            result.expect(False, f"{name}: {count}× {finding}")
    result.expect(sum(s.requests for s in runs.values()) >= 1000, "fewer than 1,000 requests")
    result.seconds = time.monotonic() - started
    return result


async def _known_ids(ctx: Context, tenant: Tenant, job_id: str | None) -> dict[str, str]:
    known = {"project_id": tenant.project_id}
    if job_id:
        known["job_id"] = job_id
        job = (await ctx.http.get(f"/v1/jobs/{job_id}", headers=tenant.headers())).json()
        post_id = (job["data"].get("result") or {}).get("postId")
        if post_id:
            known["post_id"] = post_id
    return known


@contextlib.asynccontextmanager
async def postgres_api(stack: ChaosStack) -> AsyncIterator[tuple[str, Database] | None]:
    """A second API process on a fresh PostgreSQL database (None if PostgreSQL is down).

    Its task queue has no worker: submissions are accepted as QUEUED, which is all the
    fuzzing needs, and nothing touches the SQLite stack's jobs."""
    name = f"scripe_chaos_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        yield None
        return
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    port = stack.ports.api + 1
    env = {
        **stack.env,
        "SCRIPE_DATABASE_URL": url,
        "SCRIPE_API_PORT": str(port),
        "SCRIPE_TEMPORAL_TASK_QUEUE": "scripe-chaos-fuzz-idle",
        "SCRIPE_ADMISSION_TIMEOUT_MS": "300",
    }
    log = stack.root / "logs" / "api-postgres.log"
    child = Child("api-postgres", stack.api_command(port), env, log)
    try:
        await upgrade(url)
        child.start()
        await stack.wait_http(f"http://127.0.0.1:{port}/v1/health", child)
        yield f"http://127.0.0.1:{port}", Database(url)
    finally:
        child.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
