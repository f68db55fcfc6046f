"""Helpers shared by the repositories (dialect differences, row locks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, Table, bindparam, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

from db.tables import Job


def insert_ignore(session: AsyncSession, table: type[DeclarativeBase], **values: Any) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for either database."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement: Insert = module.insert(table).values(**values).on_conflict_do_nothing()
    return statement


def insert_ignore_statements(table: Table) -> dict[str, Insert]:
    """:func:`insert_ignore` built once per dialect, values bound at execution (for the
    hot paths): ``statements[session.get_bind().dialect.name]``."""
    return {
        name: module.insert(table).on_conflict_do_nothing()
        for name, module in (("sqlite", sqlite), ("postgresql", postgresql))
    }


def newest_first_after(
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[str],
    after: tuple[datetime, str] | None,
) -> ColumnElement[bool]:
    """Keyset condition for newest-first pages: rows strictly after (created_at, id)."""
    if after is None:
        return true()
    last_created, last_id = after
    return (created_at < last_created) | ((created_at == last_created) & (row_id < last_id))


def rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def lock_job(session: AsyncSession, job_id: str) -> Job | None:
    """The job row, locked for the rest of the transaction.

    FOR UPDATE on PostgreSQL; on SQLite the write session's BEGIN IMMEDIATE already holds
    the database's single write lock.
    """
    return await session.scalar(_LOCK_JOB, {"job_id": job_id})


# Built once: every movement of a job locks its row first (3 per job in the worker).
_LOCK_JOB = select(Job).where(Job.id == bindparam("job_id")).with_for_update()
