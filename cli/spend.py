"""Operator view of the spend ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import typer

from cli.common import JsonOption, database, emit, fail, run
from db.repo import ledger
from db.repo import workspaces as workspaces_repo
from domain.money import NANOS_PER_CENT
from domain.plans import Plan, effective_cap_nanos

spend_app = typer.Typer(help="The AI-spend ledger: a day's reserved and spent amounts.")


def _cents(nanos: int | None) -> str | None:
    return None if nanos is None else f"{nanos / NANOS_PER_CENT:.4f}"


@spend_app.command("show")
def show_day(
    workspace_id: str = typer.Option(..., "--workspace"),
    mode: str = typer.Option("live", help="live or test"),
    day: str | None = typer.Option(None, help="UTC date, YYYY-MM-DD (default: today)"),
    as_json: bool = JsonOption,
) -> None:
    """A day's cap, reserved and spent amounts (in cents, exact), and every entry."""
    bucket_day = date.fromisoformat(day) if day else datetime.now(UTC).date()

    async def go() -> dict[str, Any] | None:
        async with database() as db:
            workspace = await workspaces_repo.get_workspace(db=db, workspace_id=workspace_id)
            if workspace is None:
                return None
            bucket = await ledger.get_bucket(
                db=db, workspace_id=workspace_id, mode=mode, day=bucket_day
            )
            entries = await ledger.list_entries(
                db=db, workspace_id=workspace_id, mode=mode, day=bucket_day
            )
        cap = effective_cap_nanos(Plan(workspace.plan), workspace.daily_cap_cents)
        return {
            "workspaceId": workspace_id,
            "mode": mode,
            "day": bucket_day,
            "capCents": _cents(cap),
            "reservedCents": _cents(bucket.reserved_nanos if bucket else 0),
            "spentCents": _cents(bucket.spent_nanos if bucket else 0),
            "entries": [
                {
                    "at": e.created_at,
                    "jobId": e.job_id,
                    "kind": e.kind,
                    "amountCents": _cents(e.amount_nanos),
                    "key": e.key,
                    "details": e.details,
                }
                for e in entries
            ],
        }

    result = run(go())
    if result is None:
        raise fail(f"no workspace {workspace_id}")
    emit(result, as_json=as_json, text=_ledger_text)


def _ledger_text(data: dict[str, Any]) -> str:
    cap = data["capCents"] or "unlimited"
    lines = [
        f"{data['workspaceId']} {data['mode']} {data['day']}: cap {cap}¢, "
        f"reserved {data['reservedCents']}¢, spent {data['spentCents']}¢",
    ]
    for e in data["entries"]:
        lines.append(f"  {e['at']:%H:%M:%S}  {e['kind']:<8} {e['amountCents']:>12}¢  {e['jobId']}")
    return "\n".join(lines)
