"""The local webhook receiver as the tests see it, and registering it as an endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devtools.tenants import Tenant
from devtools.webhook_receiver import WebhookReceiver
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
