"""The webhook repository on SQLite and on PostgreSQL: events and deliveries happen once
whatever reruns, the endpoint limit holds under concurrency, giving up disables only an
endpoint that nothing got through to."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from db.engine import Database
from db.repo import webhooks as repo
from domain.webhooks import delivery_id, event_id, new_endpoint_id, new_secret

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def workspace() -> str:
    return f"ws_{uuid.uuid4().hex[:26]}"


async def endpoint(
    db: Database, workspace_id: str, *, events: list[str] | None = None, scope: str | None = None
) -> str:
    created, _ = await repo.create_endpoint(
        db=db,
        new=repo.NewEndpoint(
            id=new_endpoint_id(),
            workspace_id=workspace_id,
            mode="test",
            url="https://hooks.example.com/x",
            description=None,
            events=events or ["job.completed"],
            secret=new_secret(),
            idempotency_scope=scope,
            fingerprint="f" if scope else None,
        ),
        now=NOW,
        max_endpoints=3,
    )
    return created.id


async def record(db: Database, workspace_id: str, job_id: str) -> list[repo.PendingDelivery]:
    evt = event_id(job_id=job_id, event_type="job.completed")
    return await repo.record_events(
        db=db,
        workspace_id=workspace_id,
        mode="test",
        job_id=job_id,
        events=[repo.NewEvent(id=evt, type="job.completed", body="{}", created_at=NOW)],
        delivery_id_for=delivery_id,
        now=NOW,
    )


async def test_recording_twice_makes_one_event_and_one_delivery_per_endpoint(
    any_db: Database,
) -> None:
    ws = workspace()
    first, second = await endpoint(any_db, ws), await endpoint(any_db, ws)
    await endpoint(any_db, ws, events=["job.failed"])  # not subscribed
    job_id = f"job_{uuid.uuid4().hex[:26]}"
    once = await record(any_db, ws, job_id)
    twice = await record(any_db, ws, job_id)
    assert once == twice
    assert sorted(p.endpoint_id for p in once) == sorted([first, second])
    # Delivered: a rerun has nothing left to start.
    number = await repo.start_attempt(db=any_db, delivery_id=once[0].delivery_id, now=NOW)
    await repo.finish_attempt(
        db=any_db,
        delivery_id=once[0].delivery_id,
        number=number,
        status_code=204,
        latency_ms=3,
        error=None,
        outcome="delivered",
        now=NOW,
    )
    assert [p.delivery_id for p in await record(any_db, ws, job_id)] == [once[1].delivery_id]
    views = await repo.list_deliveries(
        db=any_db, endpoint_id=once[0].endpoint_id, after=None, limit=5
    )
    assert [v.delivery.status for v in views] == ["DELIVERED"]
    assert [(a.number, a.status_code) for a in views[0].attempts] == [(1, 204)]


async def test_the_endpoint_limit_holds_under_concurrent_creates(any_db: Database) -> None:
    ws = workspace()
    results = await asyncio.gather(
        *(endpoint(any_db, ws) for _ in range(6)), return_exceptions=True
    )
    created = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, repo.TooManyEndpoints)]
    assert (len(created), len(refused)) == (3, 3), results
    listed = await repo.list_endpoints(
        db=any_db, workspace_id=ws, mode="test", after=None, limit=10
    )
    assert sorted(e.id for e in listed) == sorted(created)


async def test_an_idempotency_scope_returns_the_same_endpoint(any_db: Database) -> None:
    ws = workspace()
    scope = uuid.uuid4().hex
    first = await endpoint(any_db, ws, scope=scope)
    assert await endpoint(any_db, ws, scope=scope) == first


@pytest.mark.parametrize("succeeded_since", [False, True])
async def test_giving_up_disables_only_an_endpoint_nothing_got_through_to(
    any_db: Database, succeeded_since: bool
) -> None:
    ws = workspace()
    endpoint_id = await endpoint(any_db, ws)
    [pending] = await record(any_db, ws, f"job_{uuid.uuid4().hex[:26]}")
    failing_since = NOW - timedelta(days=3)
    if succeeded_since:  # another event got a 2xx meanwhile
        [other] = await record(any_db, ws, f"job_{uuid.uuid4().hex[:26]}")
        number = await repo.start_attempt(db=any_db, delivery_id=other.delivery_id, now=NOW)
        await repo.finish_attempt(
            db=any_db,
            delivery_id=other.delivery_id,
            number=number,
            status_code=200,
            latency_ms=1,
            error=None,
            outcome="delivered",
            now=NOW - timedelta(days=1),
        )
    disabled = await repo.give_up(
        db=any_db,
        delivery_id=pending.delivery_id,
        reason="no 2xx",
        failing_since=failing_since,
        now=NOW,
    )
    assert disabled is not succeeded_since
    read = await repo.get_endpoint(db=any_db, endpoint_id=endpoint_id)
    assert read is not None and read.enabled is succeeded_since
    assert (read.disabled_reason is None) is succeeded_since
    delivery = await repo.get_delivery(db=any_db, delivery_id=pending.delivery_id)
    assert delivery is not None and delivery.status == "FAILED"


async def test_rotation_keeps_the_old_secret_for_the_overlap(any_db: Database) -> None:
    endpoint_id = await endpoint(any_db, workspace())
    before = await repo.get_endpoint(db=any_db, endpoint_id=endpoint_id)
    assert before is not None
    rotated = await repo.rotate_secret(
        db=any_db,
        endpoint_id=endpoint_id,
        secret=new_secret(),
        now=NOW,
        overlap=timedelta(hours=24),
    )
    assert rotated is not None
    assert rotated.previous_secret == before.secret and rotated.secret != before.secret
    assert rotated.previous_secret_until == NOW + timedelta(hours=24)
