"""The local webhook receiver as the tests see it, and registering it as an endpoint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts import DeliveryStart, JobMode
from db.engine import Database
from db.repo import webhooks as repo
from devtools.tenants import Tenant
from devtools.webhook_receiver import WebhookReceiver
from domain.webhooks import delivery_id, event_id, new_endpoint_id, new_secret
from tests.utils.stack import Stack

ALL_EVENTS = ["job.completed", "job.failed", "post.created"]


@dataclass
class Receiver:
    fake: WebhookReceiver
    base_url: str

    def url(self, name: str) -> str:
        return f"{self.base_url}/hooks/{name}"


async def create_endpoint(
    stack: Stack,
    tenant: Tenant,
    receiver: Receiver,
    name: str,
    *,
    events: list[str] | None = None,
    mode: str = "test",
    **extra: Any,
) -> dict[str, Any]:
    """Register the receiver's ``/hooks/<name>`` and teach it the secret."""
    response = await stack.http.post(
        "/v1/webhook-endpoints",
        json={"url": receiver.url(name), "events": events or ALL_EVENTS, **extra},
        headers=tenant.headers(mode),  # type: ignore[arg-type]
    )
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()["data"]
    receiver.fake.secrets[name] = [endpoint["secret"]]
    return endpoint


async def pending_delivery(db: Database, receiver: Receiver, name: str) -> DeliveryStart:
    workspace_id = f"ws_{uuid.uuid4().hex[:26]}"
    endpoint, _ = await repo.create_endpoint(
        db=db,
        new=repo.NewEndpoint(
            id=new_endpoint_id(),
            workspace_id=workspace_id,
            mode="test",
            url=receiver.url(name),
            description=None,
            events=["job.completed"],
            secret=new_secret(),
            idempotency_scope=None,
            fingerprint=None,
        ),
        now=datetime.now(UTC),
        max_endpoints=20,
    )
    receiver.fake.secrets[name] = [endpoint.secret]
    job_id = f"job_{uuid.uuid4().hex[:26]}"
    evt = event_id(job_id=job_id, event_type="job.completed")
    [pending] = await repo.record_events(
        db=db,
        workspace_id=workspace_id,
        mode="test",
        job_id=job_id,
        events=[
            repo.NewEvent(
                id=evt, type="job.completed", body=f'{{"id":"{evt}"}}', created_at=datetime.now(UTC)
            )
        ],
        delivery_id_for=delivery_id,
        now=datetime.now(UTC),
    )
    return DeliveryStart(
        delivery_id=pending.delivery_id,
        event_id=evt,
        event_type="job.completed",
        endpoint_id=endpoint.id,
        workspace_id=workspace_id,
        mode=JobMode.TEST,
    )
