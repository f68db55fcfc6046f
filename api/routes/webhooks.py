"""Webhook endpoints: register, read, change, delete, rotate the secret; see and retry
deliveries. Scoped to the key's workspace and mode like every other resource."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import IdempotencyKeyDep, JsonBody, PrincipalDep, ServicesDep, json_body
from api.openapi import GuardedRoute, errors, success_headers
from api.params import parse_limit
from api.presenters import listed
from api.schemas import DataEnvelope, ListEnvelope
from api.state import AppServices
from api.webhook_schemas import (
    WebhookAttemptPublic,
    WebhookDeliveryPublic,
    WebhookEndpointCreate,
    WebhookEndpointPublic,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from contracts import webhook_task_queue
from db.repo.webhooks import DeliveryView
from db.tables import WebhookEndpoint
from services.errors import (
    BadCursor,
    BadPagination,
    IdempotencyKeyConflict,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
)
from services.pagination import DEFAULT_LIMIT, MAX_LIMIT
from services.webhooks import WebhookService

router = APIRouter(prefix="/webhook-endpoints", tags=["webhooks"], route_class=GuardedRoute)

CreateBody = Annotated[JsonBody[WebhookEndpointCreate], Depends(json_body(WebhookEndpointCreate))]
UpdateBody = Annotated[JsonBody[WebhookEndpointUpdate], Depends(json_body(WebhookEndpointUpdate))]
LimitQuery = Annotated[str | None, Query(description=f"1–{MAX_LIMIT}, default {DEFAULT_LIMIT}")]
REPLAY_HEADER = {
    "Idempotent-Replayed": {
        "description": "With an Idempotency-Key: true when this answers an earlier request",
        "schema": {"type": "string", "enum": ["true", "false"]},
    }
}


def _body(model: str) -> dict[str, object]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
        }
    }


def webhook_service(services: ServicesDep) -> WebhookService:
    return _service(services)


def _service(services: AppServices) -> WebhookService:
    settings = services.settings
    return WebhookService(
        db=services.db,
        clock=services.clock,
        cursors=services.cursors,
        temporal=services.temporal.client,
        task_queue=webhook_task_queue(settings.temporal_task_queue),
        allow_private=settings.webhooks_allow_private,
        max_backoff_seconds=settings.webhook_max_backoff_seconds,
    )


WebhooksDep = Annotated[WebhookService, Depends(webhook_service)]


def endpoint_public(endpoint: WebhookEndpoint) -> WebhookEndpointPublic:
    return WebhookEndpointPublic(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        events=list(endpoint.events),
        enabled=endpoint.enabled,
        disabledReason=endpoint.disabled_reason,
        createdAt=endpoint.created_at,
        updatedAt=endpoint.updated_at,
    )


def endpoint_with_secret(endpoint: WebhookEndpoint) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(
        **endpoint_public(endpoint).model_dump(), secret=endpoint.secret
    )


def delivery_public(view: DeliveryView) -> WebhookDeliveryPublic:
    delivery = view.delivery
    return WebhookDeliveryPublic(
        id=delivery.id,
        eventId=delivery.event_id,
        eventType=view.event_type,
        status=delivery.status,
        attemptCount=delivery.attempt_count,
        failureReason=delivery.failure_reason,
        createdAt=delivery.created_at,
        updatedAt=delivery.updated_at,
        deliveredAt=delivery.delivered_at,
        attempts=[
            WebhookAttemptPublic(
                number=a.number,
                startedAt=a.started_at,
                finishedAt=a.finished_at,
                statusCode=a.status_code,
                latencyMs=a.latency_ms,
                error=a.error
                or (None if a.finished_at else "no answer recorded (the attempt was cut short)"),
            )
            for a in view.attempts
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=DataEnvelope[WebhookEndpointWithSecret],
    responses={
        **errors(InvalidRequest, Unprocessable, IdempotencyKeyConflict, PayloadTooLarge),
        201: {
            "description": "Registered (or, with an Idempotency-Key, registered earlier)",
            "headers": {**success_headers(), **REPLAY_HEADER},
        },
    },
    openapi_extra=_body("WebhookEndpointCreate"),
)
async def create_endpoint(
    response: Response,
    principal: PrincipalDep,
    webhooks: WebhooksDep,
    idempotency_key: IdempotencyKeyDep,
    body: CreateBody,
) -> DataEnvelope[WebhookEndpointWithSecret]:
    """Register an endpoint for some events. The answer holds its signing secret, once."""
    created = await webhooks.create(
        principal,
        url=body.model.url,
        events=list(body.model.events),
        description=body.model.description,
        canonical_body=body.canonical,
        idempotency_key=idempotency_key,
    )
    if idempotency_key is not None:
        response.headers["Idempotent-Replayed"] = "true" if created.replayed else "false"
    return DataEnvelope(data=endpoint_with_secret(created.endpoint))


@router.get(
    "",
    response_model=ListEnvelope[WebhookEndpointPublic],
    responses=errors(BadPagination, BadCursor),
)
async def list_endpoints(
    principal: PrincipalDep,
    webhooks: WebhooksDep,
    limit: LimitQuery = None,
    cursor: str | None = None,
) -> ListEnvelope[WebhookEndpointPublic]:
    """List the endpoints of this workspace and mode, newest first."""
    page = await webhooks.list(principal, cursor=cursor, limit=parse_limit(limit))
    return listed(page, endpoint_public)


@router.get(
    "/{endpoint_id}",
    response_model=DataEnvelope[WebhookEndpointPublic],
    responses=errors(NotFound),
)
async def get_endpoint(
    endpoint_id: str, principal: PrincipalDep, webhooks: WebhooksDep
) -> DataEnvelope[WebhookEndpointPublic]:
    """Read an endpoint (its secret is never shown again; rotate it if it is lost)."""
    return DataEnvelope(data=endpoint_public(await webhooks.get(principal, endpoint_id)))


@router.patch(
    "/{endpoint_id}",
    response_model=DataEnvelope[WebhookEndpointPublic],
    responses=errors(NotFound, InvalidRequest, PayloadTooLarge),
    openapi_extra=_body("WebhookEndpointUpdate"),
)
async def update_endpoint(
    endpoint_id: str, principal: PrincipalDep, webhooks: WebhooksDep, body: UpdateBody
) -> DataEnvelope[WebhookEndpointPublic]:
    """Change the URL, the events or the description; enable or disable the endpoint."""
    changes = body.model.model_dump(exclude_unset=True)
    for field in ("url", "events", "enabled"):
        if field in changes and changes[field] is None:
            raise InvalidRequest(
                f"{field}: must not be null", details={"field": field, "reason": "null"}
            )
    endpoint = await webhooks.update(principal, endpoint_id, changes)
    return DataEnvelope(data=endpoint_public(endpoint))


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    response_class=Response,
    responses={**errors(NotFound), 204: {"description": "Deleted"}},
)
async def delete_endpoint(
    endpoint_id: str, principal: PrincipalDep, webhooks: WebhooksDep
) -> Response:
    """Delete an endpoint: nothing more is sent to it."""
    await webhooks.delete(principal, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=DataEnvelope[WebhookEndpointWithSecret],
    responses=errors(NotFound),
)
async def rotate_secret(
    endpoint_id: str, principal: PrincipalDep, webhooks: WebhooksDep
) -> DataEnvelope[WebhookEndpointWithSecret]:
    """A new signing secret, shown once; the previous one keeps signing for 24 hours
    (messages carry both signatures), so receivers can switch without losing events."""
    endpoint = await webhooks.rotate_secret(principal, endpoint_id)
    return DataEnvelope(data=endpoint_with_secret(endpoint))


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=ListEnvelope[WebhookDeliveryPublic],
    responses=errors(NotFound, BadPagination, BadCursor),
)
async def list_deliveries(
    endpoint_id: str,
    principal: PrincipalDep,
    webhooks: WebhooksDep,
    limit: LimitQuery = None,
    cursor: str | None = None,
) -> ListEnvelope[WebhookDeliveryPublic]:
    """What was sent to the endpoint, newest first, with every attempt."""
    page = await webhooks.deliveries(
        principal, endpoint_id, cursor=cursor, limit=parse_limit(limit)
    )
    return listed(page, delivery_public)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DataEnvelope[WebhookDeliveryPublic],
    responses=errors(NotFound, Unprocessable),
)
async def retry_delivery(
    endpoint_id: str, delivery_id: str, principal: PrincipalDep, webhooks: WebhooksDep
) -> DataEnvelope[WebhookDeliveryPublic]:
    """Send the delivery again now (same event, same ``webhook-id``)."""
    view = await webhooks.retry(principal, endpoint_id, delivery_id)
    return DataEnvelope(data=delivery_public(view))
