"""Webhook endpoints, the events jobs emit, and their deliveries and attempts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.repo._common import insert_ignore, newest_first_after, rowcount
from db.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from domain import idempotency
from domain.errors import PolicyRefusal

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"
_MUTABLE = frozenset({"url", "description", "events", "enabled", "disabled_reason"})


class TooManyEndpoints(PolicyRefusal):
    """The workspace already has the maximum number of endpoints in this mode."""


@dataclass(frozen=True)
class NewEndpoint:
    id: str
    workspace_id: str
    mode: str
    url: str
    description: str | None
    events: list[str]
    secret: str
    idempotency_scope: str | None
    fingerprint: str | None


async def create_endpoint(
    *, db: Database, new: NewEndpoint, now: datetime, max_endpoints: int
) -> tuple[WebhookEndpoint, bool]:
    """Insert the endpoint, or return the one an earlier request with the same
    idempotency scope created in the last 24 h (``True``: a replay). The count and the
    insert share one transaction, so concurrent creates cannot pass the limit together."""
    async with db.write() as session:
        if not db.is_sqlite:
            # Concurrent creates of one workspace and mode queue here, so the count below
            # cannot be read by two of them before either inserts (SQLite's BEGIN
            # IMMEDIATE already admits one writer at a time).
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"webhook-endpoints|{new.workspace_id}|{new.mode}"},
            )
        if new.idempotency_scope is not None:
            earlier = await session.scalar(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.idempotency_scope == new.idempotency_scope
                )
            )
            if earlier is not None and earlier.created_at > now - idempotency.WINDOW:
                return earlier, True
            if earlier is not None:  # the key's window is over: it may name a new request
                earlier.idempotency_scope = None
                await session.flush()
        count = await session.scalar(
            select(func.count())
            .select_from(WebhookEndpoint)
            .where(
                WebhookEndpoint.workspace_id == new.workspace_id,
                WebhookEndpoint.mode == new.mode,
                WebhookEndpoint.deleted_at.is_(None),
            )
        )
        if (count or 0) >= max_endpoints:
            raise TooManyEndpoints()
        endpoint = WebhookEndpoint(
            id=new.id,
            workspace_id=new.workspace_id,
            mode=new.mode,
            url=new.url,
            description=new.description,
            events=list(new.events),
            enabled=True,
            disabled_reason=None,
            secret=new.secret,
            previous_secret=None,
            previous_secret_until=None,
            last_success_at=None,
            idempotency_scope=new.idempotency_scope,
            fingerprint=new.fingerprint,
            created_at=now,
            updated_at=now,
            deleted_at=None,
        )
        session.add(endpoint)
        await session.commit()
        return endpoint, False


async def get_endpoint(*, db: Database, endpoint_id: str) -> WebhookEndpoint | None:
    """The endpoint unless deleted."""
    async with db.read_statement() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        return endpoint if endpoint is not None and endpoint.deleted_at is None else None


async def list_endpoints(
    *, db: Database, workspace_id: str, mode: str, after: tuple[datetime, str] | None, limit: int
) -> list[WebhookEndpoint]:
    async with db.read_statement() as session:
        rows = await session.scalars(
            select(WebhookEndpoint)
            .where(
                WebhookEndpoint.workspace_id == workspace_id,
                WebhookEndpoint.mode == mode,
                WebhookEndpoint.deleted_at.is_(None),
                newest_first_after(WebhookEndpoint.created_at, WebhookEndpoint.id, after),
            )
            .order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
            .limit(limit)
        )
        return list(rows)


async def update_endpoint(
    *, db: Database, endpoint_id: str, changes: dict[str, Any], now: datetime
) -> WebhookEndpoint | None:
    async with db.write() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or endpoint.deleted_at is not None:
            return None
        for column, value in changes.items():
            if column not in _MUTABLE:
                raise ValueError(f"cannot change endpoint field {column!r}")
            setattr(endpoint, column, value)
        endpoint.updated_at = now
        await session.commit()
        return endpoint


async def delete_endpoint(*, db: Database, endpoint_id: str, now: datetime) -> bool:
    """Soft delete: its deliveries stay readable for operators; nothing more is sent."""
    async with db.write() as session:
        result = await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now, enabled=False, idempotency_scope=None)
        )
        await session.commit()
        return rowcount(result) == 1


async def rotate_secret(
    *, db: Database, endpoint_id: str, secret: str, now: datetime, overlap: timedelta
) -> WebhookEndpoint | None:
    """The new secret signs from now on; the current one keeps signing for ``overlap``."""
    async with db.write() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or endpoint.deleted_at is not None:
            return None
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = now + overlap
        endpoint.secret = secret
        endpoint.updated_at = now
        await session.commit()
        return endpoint


# --- events and deliveries -------------------------------------------------------------------


@dataclass(frozen=True)
class NewEvent:
    id: str
    type: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class PendingDelivery:
    delivery_id: str
    event_id: str
    event_type: str
    endpoint_id: str


async def has_subscriber(
    session: AsyncSession, *, workspace_id: str, mode: str, event_types: Sequence[str]
) -> bool:
    """Whether an enabled endpoint of the workspace (in this mode) is subscribed to any of
    ``event_types``: the same endpoints :func:`record_events` would deliver to."""
    if not event_types:
        return False
    subscribed = await session.scalars(
        select(WebhookEndpoint.events).where(
            WebhookEndpoint.workspace_id == workspace_id,
            WebhookEndpoint.mode == mode,
            WebhookEndpoint.enabled.is_(True),
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    wanted = set(event_types)
    return any(wanted.intersection(events) for events in subscribed)


async def record_events(
    *,
    db: Database,
    workspace_id: str,
    mode: str,
    job_id: str,
    events: Sequence[NewEvent],
    delivery_id_for: Callable[..., str],
    now: datetime,
) -> list[PendingDelivery]:
    """Insert the events and one delivery per subscribed, enabled endpoint (both at most
    once: ids are derived, inserts ignore duplicates), and return the deliveries of these
    events that are still PENDING — the ones whose workflows must be (re)started."""
    async with db.write() as session:
        for event in events:
            await session.execute(
                insert_ignore(
                    session,
                    WebhookEvent,
                    id=event.id,
                    workspace_id=workspace_id,
                    mode=mode,
                    type=event.type,
                    job_id=job_id,
                    body=event.body,
                    created_at=event.created_at,
                )
            )
        endpoints = list(
            await session.scalars(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.workspace_id == workspace_id,
                    WebhookEndpoint.mode == mode,
                    WebhookEndpoint.enabled.is_(True),
                    WebhookEndpoint.deleted_at.is_(None),
                )
            )
        )
        for event in events:
            for endpoint in endpoints:
                if event.type not in endpoint.events:
                    continue
                await session.execute(
                    insert_ignore(
                        session,
                        WebhookDelivery,
                        id=delivery_id_for(event_id=event.id, endpoint_id=endpoint.id),
                        event_id=event.id,
                        endpoint_id=endpoint.id,
                        workspace_id=workspace_id,
                        mode=mode,
                        status=PENDING,
                        attempt_count=0,
                        failure_reason=None,
                        created_at=now,
                        updated_at=now,
                        delivered_at=None,
                    )
                )
        rows = await session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.event_id,
                WebhookEvent.type,
                WebhookDelivery.endpoint_id,
            )
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(
                WebhookDelivery.event_id.in_([e.id for e in events]),
                WebhookDelivery.status == PENDING,
            )
            .order_by(WebhookDelivery.id)
        )
        pending = [
            PendingDelivery(delivery_id=d, event_id=e, event_type=t, endpoint_id=w)
            for d, e, t, w in rows
        ]
        await session.commit()
        return pending


@dataclass(frozen=True)
class DeliveryTarget:
    delivery: WebhookDelivery
    event: WebhookEvent
    endpoint: WebhookEndpoint


async def load_delivery(*, db: Database, delivery_id: str) -> DeliveryTarget | None:
    async with db.read() as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return None
        event = await session.get(WebhookEvent, delivery.event_id)
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        assert event is not None and endpoint is not None  # foreign keys
        return DeliveryTarget(delivery=delivery, event=event, endpoint=endpoint)


async def get_delivery(*, db: Database, delivery_id: str) -> WebhookDelivery | None:
    async with db.read_statement() as session:
        return await session.get(WebhookDelivery, delivery_id)


async def start_attempt(*, db: Database, delivery_id: str, now: datetime) -> int:
    """Number and record the attempt before sending: a worker that dies mid-request
    leaves an attempt without an end, visible in the deliveries list."""
    async with db.write() as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        delivery.attempt_count += 1
        delivery.updated_at = now
        number = delivery.attempt_count
        session.add(WebhookAttempt(delivery_id=delivery_id, number=number, started_at=now))
        await session.commit()
        return number


async def finish_attempt(
    *,
    db: Database,
    delivery_id: str,
    number: int,
    status_code: int | None,
    latency_ms: int,
    error: str | None,
    outcome: str,
    now: datetime,
) -> None:
    """Complete the attempt row; a 2xx delivers, a 410 fails and disables the endpoint."""
    async with db.write() as session:
        await session.execute(
            update(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id, WebhookAttempt.number == number)
            .values(finished_at=now, status_code=status_code, latency_ms=latency_ms, error=error)
        )
        delivery = await session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        assert endpoint is not None
        delivery.updated_at = now
        if outcome == "delivered":
            delivery.status, delivery.delivered_at, delivery.failure_reason = DELIVERED, now, None
            endpoint.last_success_at = now
        elif outcome == "gone":
            delivery.status = FAILED
            delivery.failure_reason = "the endpoint answered 410 Gone"
            endpoint.enabled = False
            endpoint.disabled_reason = "The endpoint answered 410 Gone."
            endpoint.updated_at = now
        await session.commit()


async def finish_delivery(*, db: Database, delivery_id: str, reason: str, now: datetime) -> None:
    """Fail a PENDING delivery without disabling anything (e.g. its endpoint is gone)."""
    async with db.write() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == PENDING)
            .values(status=FAILED, failure_reason=reason, updated_at=now)
        )
        await session.commit()


async def give_up(
    *, db: Database, delivery_id: str, reason: str, failing_since: datetime, now: datetime
) -> bool:
    """Fail the delivery; disable its endpoint when nothing it was sent got a 2xx since
    ``failing_since``. True when the endpoint was disabled."""
    async with db.write() as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        if delivery.status != PENDING:
            return False
        delivery.status, delivery.failure_reason, delivery.updated_at = FAILED, reason, now
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        assert endpoint is not None
        disable = endpoint.enabled and (
            endpoint.last_success_at is None or endpoint.last_success_at < failing_since
        )
        if disable:
            endpoint.enabled = False
            endpoint.disabled_reason = (
                "Every delivery attempt failed for 3 days; fix the endpoint, enable it "
                "again and retry the failed deliveries."
            )
            endpoint.updated_at = now
        await session.commit()
        return disable


async def reopen_delivery(*, db: Database, delivery_id: str, now: datetime) -> WebhookDelivery:
    """A retry (of a failed or a delivered delivery alike): PENDING again, attempt
    numbers continue."""
    async with db.write() as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        delivery.status, delivery.failure_reason = PENDING, None
        delivery.updated_at = now
        await session.commit()
        return delivery


@dataclass(frozen=True)
class DeliveryView:
    delivery: WebhookDelivery
    event_type: str
    attempts: list[WebhookAttempt]

    @property
    def created_at(self) -> datetime:  # the list's keyset position
        return self.delivery.created_at

    @property
    def id(self) -> str:
        return self.delivery.id


async def get_delivery_view(*, db: Database, delivery_id: str) -> DeliveryView | None:
    async with db.read() as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return None
        event_type = await session.scalar(
            select(WebhookEvent.type).where(WebhookEvent.id == delivery.event_id)
        )
        attempts = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.number)
        )
        return DeliveryView(delivery=delivery, event_type=event_type or "", attempts=list(attempts))


async def list_deliveries(
    *, db: Database, endpoint_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[DeliveryView]:
    """Newest first, each with its event type and attempts (oldest attempt first)."""
    async with db.read_statement() as session:
        rows = await session.execute(
            select(WebhookDelivery, WebhookEvent.type)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                newest_first_after(WebhookDelivery.created_at, WebhookDelivery.id, after),
            )
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
        deliveries = [(row[0], row[1]) for row in rows]
        attempts: dict[str, list[WebhookAttempt]] = {d.id: [] for d, _ in deliveries}
        if attempts:
            for attempt in await session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id.in_(list(attempts)))
                .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
            ):
                attempts[attempt.delivery_id].append(attempt)
        return [
            DeliveryView(delivery=d, event_type=t, attempts=attempts[d.id]) for d, t in deliveries
        ]
