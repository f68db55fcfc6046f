"""Request and response shapes of the webhook routes (same conventions as api/schemas.py)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.schemas import PlainText, Timestamp
from domain.webhooks import EVENT_TYPES

EventType = Literal["job.completed", "job.failed", "post.created"]
assert get_args(EventType) == EVENT_TYPES  # one list of event names

EventList = Annotated[list[EventType], Field(min_length=1, max_length=3)]
Description = Annotated[PlainText, Field(max_length=500)]
Url = Annotated[str, Field(min_length=1, max_length=2000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookEndpointCreate(_In):
    url: Url
    events: EventList
    description: Description | None = None


class WebhookEndpointUpdate(_In):
    url: Url | None = None
    events: EventList | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


class WebhookEndpointPublic(BaseModel):
    id: str
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    disabledReason: str | None
    createdAt: Timestamp
    updatedAt: Timestamp


class WebhookEndpointWithSecret(WebhookEndpointPublic):
    """Create and rotate-secret only: the signing secret, shown this once."""

    secret: str = Field(description="whsec_…: verify signatures with it (Standard Webhooks)")


class WebhookAttemptPublic(BaseModel):
    number: int
    startedAt: Timestamp
    finishedAt: Timestamp | None
    statusCode: int | None
    latencyMs: int | None
    error: str | None


class WebhookDeliveryPublic(BaseModel):
    id: str
    eventId: str
    eventType: str
    status: Literal["PENDING", "DELIVERED", "FAILED"]
    attemptCount: int
    failureReason: str | None
    createdAt: Timestamp
    updatedAt: Timestamp
    deliveredAt: Timestamp | None
    attempts: list[WebhookAttemptPublic]
