"""Shared plumbing for CLI commands: settings, the database, output as text or JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import typer

from config import Settings, get_settings
from db.engine import Database
from db.migrate import upgrade

T = TypeVar("T")

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(_as_coroutine(coro))


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


@asynccontextmanager
async def database(settings: Settings | None = None) -> AsyncIterator[Database]:
    settings = settings or get_settings()
    await upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        yield db
    finally:
        await db.dispose()


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit(data: Any, *, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` as JSON (for scripts) or as ``text(data)`` (for people)."""
    if as_json:
        typer.echo(json.dumps(data, default=_default, indent=2, ensure_ascii=False))
    else:
        typer.echo(text(data) if text else _plain(data))


def _plain(data: Any) -> str:
    if isinstance(data, list):
        return "\n".join(_plain(item) for item in data) or "(none)"
    if isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        return "\n".join(f"{k.ljust(width)}  {_default_str(v)}" for k, v in data.items())
    return str(data)


def _default_str(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=_default, ensure_ascii=False)
    return "-" if value is None else str(value)


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
