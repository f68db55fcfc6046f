"""Webhook endpoints and deliveries as customers manage them (workspace + mode scoped).

Destinations are checked when registered (shape, https, no private address) and again at
every delivery (the DNS answer may change); see activities/webhooks.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from connections import system_resolver
from contracts import (
    DeliveryStart,
    JobMode,
    delivery_search_attributes,
    delivery_workflow_id,
)
from db.engine import Database
from db.repo import webhooks as repo
from db.tables import WebhookDelivery, WebhookEndpoint
from domain import idempotency
from domain.public_addresses import (
    FetchFailed,
    FetchRefused,
    Resolver,
    check_url_shape,
    is_public_address,
)
from domain.webhooks import (
    MAX_ENDPOINTS_PER_WORKSPACE,
    ROTATION_OVERLAP,
    new_endpoint_id,
    new_secret,
)
from services.auth import Principal
from services.clock import Clock
from services.errors import IdempotencyKeyConflict, InvalidRequest, NotFound, Unprocessable
from services.pagination import CursorCodec, Page, paginate

CREATE_ROUTE = "POST /v1/webhook-endpoints"
DELIVERY_WORKFLOW = "WebhookDeliveryWorkflow"


async def check_destination(url: str, *, allow_private: bool, resolver: Resolver) -> None:
    """400 naming ``url`` unless it is an https URL of a public host.

    A name that does not resolve yet is accepted (DNS may come later); every delivery
    resolves and checks it again and connects to the checked address.
    """
    try:
        check_url_shape(url, allow_private=allow_private)
    except FetchRefused as err:
        raise _bad_url(str(err).removeprefix("URL ")) from err
    if allow_private:
        return
    parts = urlsplit(url)
    try:
        addresses = await resolver(parts.hostname or "", parts.port or 443)
    except FetchFailed:
        return
    if not all(is_public_address(a) for a in addresses):
        raise _bad_url("must point to a public address")


def _bad_url(reason: str) -> InvalidRequest:
    return InvalidRequest(f"url: {reason}", details={"field": "url", "reason": reason})


def delivery_start_options(start: DeliveryStart, *, task_queue: str) -> dict[str, Any]:
    """How a delivery workflow is started, by the emitter and by a retry alike."""
    return {
        "id": delivery_workflow_id(start.delivery_id),
        "task_queue": task_queue,
        "search_attributes": delivery_search_attributes(start),
    }


@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    replayed: bool


class WebhookService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        cursors: CursorCodec,
        temporal: Client,
        task_queue: str,
        allow_private: bool,
        max_backoff_seconds: float | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._db = db
        self._clock = clock
        self._cursors = cursors
        self._temporal = temporal
        self._task_queue = task_queue
        self._max_backoff_seconds = max_backoff_seconds
        self._allow_private = allow_private
        self._resolver = resolver

    async def create(
        self,
        principal: Principal,
        *,
        url: str,
        events: list[str],
        description: str | None,
        canonical_body: str,
        idempotency_key: str | None,
    ) -> Created:
        await check_destination(url, allow_private=self._allow_private, resolver=self._resolver)
        scope = None
        fingerprint = idempotency.fingerprint(canonical_body)
        if idempotency_key is not None:
            scope = idempotency.scope(
                workspace_id=principal.workspace_id,
                mode=principal.mode,
                route=CREATE_ROUTE,
                key=idempotency_key,
            )
        new = repo.NewEndpoint(
            id=new_endpoint_id(),
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            url=url,
            description=description,
            events=list(dict.fromkeys(events)),
            secret=new_secret(),
            idempotency_scope=scope,
            fingerprint=fingerprint if scope else None,
        )
        for _ in range(2):  # a concurrent duplicate may win the scope: then replay it
            try:
                endpoint, replayed = await repo.create_endpoint(
                    db=self._db,
                    new=new,
                    now=self._clock.now(),
                    max_endpoints=MAX_ENDPOINTS_PER_WORKSPACE,
                )
            except repo.TooManyEndpoints as err:
                raise Unprocessable(
                    f"A workspace can have at most {MAX_ENDPOINTS_PER_WORKSPACE} webhook "
                    "endpoints per mode; delete one first.",
                    details={
                        "field": "url",
                        "reason": "too many endpoints",
                        "limit": MAX_ENDPOINTS_PER_WORKSPACE,
                    },
                ) from err
            except IntegrityError:
                continue
            if replayed and endpoint.fingerprint != fingerprint:
                raise IdempotencyKeyConflict()
            return Created(endpoint=endpoint, replayed=replayed)
        raise IdempotencyKeyConflict()

    async def get(self, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
        endpoint = await repo.get_endpoint(db=self._db, endpoint_id=endpoint_id)
        if (
            endpoint is None
            or endpoint.workspace_id != principal.workspace_id
            or endpoint.mode != principal.mode
        ):
            raise NotFound("No such webhook endpoint.")
        return endpoint

    async def list(
        self, principal: Principal, *, cursor: str | None, limit: int
    ) -> Page[WebhookEndpoint]:
        async def fetch(after: tuple[datetime, str] | None, size: int) -> list[WebhookEndpoint]:
            return await repo.list_endpoints(
                db=self._db,
                workspace_id=principal.workspace_id,
                mode=principal.mode,
                after=after,
                limit=size,
            )

        return await paginate(
            fetch,
            codec=self._cursors,
            scope=f"{principal.workspace_id}|{principal.mode}|GET /v1/webhook-endpoints",
            cursor=cursor,
            limit=limit,
        )

    async def update(
        self, principal: Principal, endpoint_id: str, changes: dict[str, Any]
    ) -> WebhookEndpoint:
        await self.get(principal, endpoint_id)
        if "url" in changes:
            await check_destination(
                changes["url"], allow_private=self._allow_private, resolver=self._resolver
            )
        if "events" in changes:
            changes["events"] = list(dict.fromkeys(changes["events"]))
        if changes.get("enabled") is True:
            changes["disabled_reason"] = None
        elif changes.get("enabled") is False:
            changes["disabled_reason"] = "Disabled by the workspace."
        endpoint = await repo.update_endpoint(
            db=self._db, endpoint_id=endpoint_id, changes=changes, now=self._clock.now()
        )
        if endpoint is None:
            raise NotFound("No such webhook endpoint.")
        return endpoint

    async def delete(self, principal: Principal, endpoint_id: str) -> None:
        await self.get(principal, endpoint_id)
        await repo.delete_endpoint(db=self._db, endpoint_id=endpoint_id, now=self._clock.now())

    async def rotate_secret(self, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
        await self.get(principal, endpoint_id)
        endpoint = await repo.rotate_secret(
            db=self._db,
            endpoint_id=endpoint_id,
            secret=new_secret(),
            now=self._clock.now(),
            overlap=ROTATION_OVERLAP,
        )
        if endpoint is None:
            raise NotFound("No such webhook endpoint.")
        return endpoint

    async def deliveries(
        self, principal: Principal, endpoint_id: str, *, cursor: str | None, limit: int
    ) -> Page[repo.DeliveryView]:
        await self.get(principal, endpoint_id)

        async def fetch(after: tuple[datetime, str] | None, size: int) -> list[repo.DeliveryView]:
            return await repo.list_deliveries(
                db=self._db, endpoint_id=endpoint_id, after=after, limit=size
            )

        return await paginate(
            fetch,
            codec=self._cursors,
            scope=f"{principal.workspace_id}|{principal.mode}|deliveries|{endpoint_id}",
            cursor=cursor,
            limit=limit,
        )

    async def retry(
        self, principal: Principal, endpoint_id: str, delivery_id: str
    ) -> repo.DeliveryView:
        """Deliver again now: a new run of the delivery's workflow (same ``webhook-id``).
        A delivery still being attempted keeps its current run."""
        endpoint = await self.get(principal, endpoint_id)
        delivery = await repo.get_delivery(db=self._db, delivery_id=delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint.id:
            raise NotFound("No such delivery.")
        if not endpoint.enabled:
            raise Unprocessable(
                "The endpoint is disabled; enable it (PATCH enabled: true) before retrying.",
                details={"field": "enabled", "reason": "endpoint disabled"},
            )
        await restart_delivery(
            db=self._db,
            temporal=self._temporal,
            task_queue=self._task_queue,
            delivery_id=delivery_id,
            now=self._clock.now(),
            max_backoff_seconds=self._max_backoff_seconds,
        )
        return await self._view(delivery)

    async def _view(self, delivery: WebhookDelivery) -> repo.DeliveryView:
        view = await repo.get_delivery_view(db=self._db, delivery_id=delivery.id)
        assert view is not None
        return view


async def restart_delivery(
    *,
    db: Database,
    temporal: Client,
    task_queue: str,
    delivery_id: str,
    now: datetime,
    max_backoff_seconds: float | None = None,
) -> None:
    """PENDING again, and a new run of its workflow (same event, same ``webhook-id``); a
    run still attempting it keeps going instead. Used by the API and ``scripe webhooks``.

    ``max_backoff_seconds``: the caller's SCRIPE_WEBHOOK_MAX_BACKOFF_SECONDS, so a retried
    delivery backs off as the worker's own deliveries do (None: the default cap)."""
    target = await repo.load_delivery(db=db, delivery_id=delivery_id)
    if target is None:
        raise NotFound("No such delivery.")
    await repo.reopen_delivery(db=db, delivery_id=delivery_id, now=now)
    start = DeliveryStart(
        delivery_id=target.delivery.id,
        event_id=target.event.id,
        event_type=target.event.type,
        endpoint_id=target.endpoint.id,
        workspace_id=target.delivery.workspace_id,
        mode=JobMode(target.delivery.mode),
        max_backoff_seconds=max_backoff_seconds,
    )
    try:
        await temporal.start_workflow(
            DELIVERY_WORKFLOW,
            start,
            **delivery_start_options(start, task_queue=task_queue),
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass  # still being attempted: that run delivers it
