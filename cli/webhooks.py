"""Operator commands on webhooks: endpoints of a workspace, deliveries with their attempts,
retry a delivery, enable an endpoint again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from cli.common import JsonOption, database, emit, fail, run
from config import get_settings
from connections import connect_temporal
from contracts import webhook_task_queue
from db.repo import webhooks as repo
from services.errors import NotFound
from services.webhooks import restart_delivery

webhooks_app = typer.Typer(help="Webhook endpoints and deliveries (see docs/webhooks.md).")


@webhooks_app.command("endpoints")
def list_endpoints(
    workspace_id: str = typer.Option(..., "--workspace", help="WorkspaceId"),
    mode: str = typer.Option("live", help="live or test"),
    as_json: bool = JsonOption,
) -> None:
    """A workspace's endpoints (newest first), enabled or why not."""

    async def go() -> list[dict[str, Any]]:
        async with database() as db:
            rows = await repo.list_endpoints(
                db=db, workspace_id=workspace_id, mode=mode, after=None, limit=200
            )
        return [
            {
                "id": e.id,
                "url": e.url,
                "events": e.events,
                "enabled": e.enabled,
                "disabledReason": e.disabled_reason,
                "lastSuccessAt": e.last_success_at,
            }
            for e in rows
        ]

    emit(
        run(go()),
        as_json=as_json,
        text=lambda rows: (
            "\n".join(
                f"{r['id']}  {'enabled ' if r['enabled'] else 'DISABLED'}  {r['url']}  "
                f"{','.join(r['events'])}  {r['disabledReason'] or ''}"
                for r in rows
            )
            or "(none)"
        ),
    )


@webhooks_app.command("deliveries")
def list_deliveries(
    endpoint_id: str,
    limit: int = typer.Option(20, min=1, max=200),
    as_json: bool = JsonOption,
) -> None:
    """An endpoint's deliveries, newest first, with every attempt."""

    async def go() -> list[dict[str, Any]]:
        async with database() as db:
            views = await repo.list_deliveries(
                db=db, endpoint_id=endpoint_id, after=None, limit=limit
            )
        return [
            {
                "id": v.delivery.id,
                "eventId": v.delivery.event_id,
                "eventType": v.event_type,
                "status": v.delivery.status,
                "failureReason": v.delivery.failure_reason,
                "attempts": [
                    {
                        "number": a.number,
                        "startedAt": a.started_at,
                        "statusCode": a.status_code,
                        "latencyMs": a.latency_ms,
                        "error": a.error,
                    }
                    for a in v.attempts
                ],
            }
            for v in views
        ]

    emit(run(go()), as_json=as_json, text=_deliveries_text)


def _deliveries_text(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        lines.append(f"{r['id']}  {r['status']:<9} {r['eventType']:<13} {r['eventId']}")
        for a in r["attempts"]:
            lines.append(
                f"    #{a['number']} {a['startedAt']:%Y-%m-%d %H:%M:%S}  "
                f"{a['statusCode'] or '-'}  {a['latencyMs'] or '-'} ms  {a['error'] or ''}"
            )
    return "\n".join(lines) or "(none)"


@webhooks_app.command("retry")
def retry_delivery(delivery_id: str) -> None:
    """Deliver again now (same event, same webhook-id)."""
    settings = get_settings()

    async def go() -> None:
        client = await connect_temporal(settings)
        async with database(settings) as db:
            await restart_delivery(
                db=db,
                temporal=client,
                task_queue=webhook_task_queue(settings.temporal_task_queue),
                delivery_id=delivery_id,
                now=datetime.now(UTC),
                max_backoff_seconds=settings.webhook_max_backoff_seconds,
            )

    try:
        run(go())
    except NotFound as err:
        raise fail(str(err)) from err
    typer.echo(f"delivery {delivery_id} is being sent again")


@webhooks_app.command("enable")
def enable_endpoint(endpoint_id: str) -> None:
    """Enable an endpoint that was disabled (410, three days of failures, or by hand)."""

    async def go() -> bool:
        async with database() as db:
            endpoint = await repo.update_endpoint(
                db=db,
                endpoint_id=endpoint_id,
                changes={"enabled": True, "disabled_reason": None},
                now=datetime.now(UTC),
            )
        return endpoint is not None

    if not run(go()):
        raise fail(f"no such endpoint: {endpoint_id}")
    typer.echo(f"endpoint {endpoint_id} is enabled")
