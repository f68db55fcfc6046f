"""SQLite's writer queue: one process's writers take turns in arrival order, and a writer
that waited in the queue gets only what is left of the lock bound at the file. And its
reads: one statement without BEGIN (``read_statement``), several in one snapshot (``read``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from db.engine import Database, WaitLimits
from tests.utils.sqlite_lock import write_lock_held

LOCK_MS = 400
LIMITS = WaitLimits(lock_ms=LOCK_MS, pool_seconds=5, connect_seconds=1, statement_ms=None)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}", limits=LIMITS)
    async with database.write() as session:  # creates the file and switches it to WAL
        await session.execute(text("CREATE TABLE turns (n INTEGER)"))
        await session.commit()
    yield database
    await database.dispose()


async def test_writers_of_one_process_commit_in_arrival_order(db: Database) -> None:
    async def write(n: int) -> None:
        async with db.write() as session:
            await session.execute(text("INSERT INTO turns (n) VALUES (:n)"), {"n": n})
            await session.commit()

    # Created in order, so they ask for the queue in order (SQLite's own retry loop would
    # let them in as its sleeps happen to line up).
    await asyncio.gather(*(write(n) for n in range(30)))
    async with db.read() as session:
        committed = (await session.execute(text("SELECT n FROM turns ORDER BY rowid"))).scalars()
        assert list(committed) == list(range(30))


async def test_a_writer_that_queued_gets_what_is_left_of_the_lock_bound(
    db: Database, tmp_path: Path
) -> None:
    async def write() -> float:
        started = time.monotonic()
        with pytest.raises((OperationalError, TimeoutError)):
            async with db.write() as session:
                await session.execute(text("INSERT INTO turns (n) VALUES (1)"))
        return time.monotonic() - started

    with write_lock_held(tmp_path / "queue.db"):
        first = asyncio.create_task(write())
        await asyncio.sleep(LOCK_MS / 4000)  # the second arrives while the first waits
        second = await write()
        assert await first < 2 * LOCK_MS / 1000
    # It waited ~3/4 of the bound in the queue, then at most the rest at the file: about
    # one bound in all, where a full busy timeout of its own would have made it ~1.75.
    assert second < 1.3 * LOCK_MS / 1000


# --- reads: one statement without BEGIN, several in one snapshot ---------------------------


@pytest.fixture
def rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Calls of aiosqlite's rollback: each one a trip to the connection's thread."""
    calls: list[None] = []
    rollback = aiosqlite.Connection.rollback

    async def counted(self: aiosqlite.Connection) -> None:
        calls.append(None)
        await rollback(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", counted)
    return calls


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    sent: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", on_statement)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", on_statement)


async def test_a_one_statement_read_sends_no_begin_and_no_rollback(
    db: Database, rollbacks: list[None]
) -> None:
    with statements(db) as sent:
        async with db.read_statement() as session:
            await session.execute(text("SELECT count(*) FROM turns"))
    assert sent == ["SELECT count(*) FROM turns"]
    assert rollbacks == []


async def test_a_read_transaction_sees_one_snapshot(db: Database) -> None:
    async with db.read() as session:
        before = (await session.execute(text("SELECT count(*) FROM turns"))).scalar()
        async with db.write() as writer:  # another connection commits meanwhile
            await writer.execute(text("INSERT INTO turns (n) VALUES (1)"))
            await writer.commit()
        again = (await session.execute(text("SELECT count(*) FROM turns"))).scalar()
    assert again == before
    async with db.read_statement() as session:
        now = (await session.execute(text("SELECT count(*) FROM turns"))).scalar()
    assert now == (before or 0) + 1


async def test_a_failed_write_is_still_rolled_back(db: Database, rollbacks: list[None]) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            await session.execute(text("INSERT INTO turns (n) VALUES (7)"))
            raise RuntimeError("the caller failed before its commit")
    assert len(rollbacks) == 1
    async with db.read_statement() as session:
        kept = (await session.execute(text("SELECT count(*) FROM turns WHERE n = 7"))).scalar()
    assert kept == 0
