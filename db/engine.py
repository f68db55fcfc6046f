"""Engine and sessions for SQLite (embedded default) and PostgreSQL (at scale)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

_IMMEDIATE = "scripe_begin_immediate"
_NO_BEGIN = "scripe_no_begin"
_BUSY_MS = "scripe_busy_timeout_ms"
# A queue wait shorter than this leaves the whole lock wait to the file (no extra PRAGMA).
_BUSY_SLACK_MS = 50


@dataclass(frozen=True)
class WaitLimits:
    """How long one database call may wait: for a lock, a pooled connection, a new
    connection, or (PostgreSQL) the statement itself. ``None``: no limit."""

    lock_ms: int
    pool_seconds: float
    connect_seconds: float
    statement_ms: int | None


# Workers and the CLI: their steps retry, so waiting out a busy database beats failing.
PATIENT = WaitLimits(lock_ms=30_000, pool_seconds=30, connect_seconds=10, statement_ms=None)
# The API: a customer's request gets 503 service_unavailable within about 2 s when the
# database is locked or unreachable, instead of hanging.
INTERACTIVE = WaitLimits(lock_ms=1_500, pool_seconds=1, connect_seconds=1, statement_ms=1_500)


class Database:
    """One engine and three kinds of session: ``read()``, ``read_statement()`` and ``write()``.

    ``read()`` is a transaction: the statements it runs see one snapshot of the database.
    ``read_statement()`` is for a read of one statement (or of several that need not agree
    with each other): on SQLite it sends no ``BEGIN`` and so needs no rollback at close,
    because in WAL mode a statement outside a transaction is its own consistent snapshot;
    that halves the trips to the connection's thread of a one-statement read. Statements
    run in one ``read_statement()`` session do not share a snapshot: a read whose
    statements must agree (a row and its children, a parent and a count) uses ``read()``.

    On SQLite a write transaction takes the database write lock at BEGIN (``BEGIN
    IMMEDIATE``): a transaction that reads and then writes could otherwise fail with
    "database is locked" when another connection committed in between, instead of waiting
    its turn. PostgreSQL needs nothing special: its conditional UPDATEs and row locks are
    atomic at READ COMMITTED.

    SQLite also has one writer at a time, and a connection that finds the file locked
    sleeps and retries (1, 2, 5 … 100 ms apart), first come not first served: with dozens
    of concurrent writers in one process, an unlucky one kept losing until its lock wait
    ran out (the API's 503s at 16 and 64 concurrent POSTs in the benchmark). So each process
    queues its own SQLite writers in arrival order (an asyncio lock per event loop) and
    only the head of the queue meets the other process at the file. The queue and the file
    share one ``lock_ms`` budget, so the API's 503 still comes within its bound.
    """

    def __init__(self, url: str, *, pool_size: int = 10, limits: WaitLimits = PATIENT) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.limits = limits
        kwargs: dict[str, Any] = {
            "pool_pre_ping": not self.is_sqlite,
            "pool_timeout": limits.pool_seconds,
        }
        # As many connections as concurrent requests can use at once: a request that waits
        # for a pooled connection past ``pool_seconds`` is a 503. SQLite's writers wait for
        # their turn in the writer queue before they take a connection, so half as many do;
        # each connection is a thread with its own page cache (the API's RSS).
        if self.is_sqlite:
            pool_size = max(1, pool_size // 2)
        kwargs.update(pool_size=pool_size, max_overflow=pool_size * 2)
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": limits.lock_ms / 1000}
        else:
            server_settings = {"lock_timeout": str(limits.lock_ms)}
            if limits.statement_ms is not None:
                server_settings["statement_timeout"] = str(limits.statement_ms)
            kwargs["connect_args"] = {
                "timeout": limits.connect_seconds,
                "server_settings": server_settings,
            }
            kwargs["pool_recycle"] = 1800
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine, busy_timeout_ms=limits.lock_ms)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL's one-statement reads stay as they are (a transaction at READ
        # COMMITTED, the same view a statement of its own would have).
        self._statement_sessions = (
            async_sessionmaker(
                self.engine.execution_options(**{_NO_BEGIN: True}), expire_on_commit=False
            )
            if self.is_sqlite
            else self._sessions
        )
        self._writer_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def read(self) -> AsyncSession:
        """A read transaction: every statement in it sees the same snapshot."""
        return self._sessions()

    def read_statement(self) -> AsyncSession:
        """A session for one read statement, without ``BEGIN`` on SQLite; statements run
        in it do not share a snapshot (see the class)."""
        return self._statement_sessions()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        if not self.is_sqlite:
            async with self._sessions() as session:
                yield session
            return
        queue = self._writer_queue()
        loop = asyncio.get_running_loop()
        queued_at = loop.time()
        # TimeoutError past the lock wait, as the database's own busy timeout would fail.
        # asyncio.timeout, not wait_for: wait_for wraps the acquire in a task of its own,
        # a task per write transaction even when nobody is queued.
        async with asyncio.timeout(self.limits.lock_ms / 1000):
            await queue.acquire()
        try:
            queued_ms = int((loop.time() - queued_at) * 1000)
            busy_ms = self.limits.lock_ms
            if queued_ms > _BUSY_SLACK_MS:
                busy_ms = max(1, busy_ms - queued_ms)
            async with self._sessions() as session:
                await session.connection(execution_options={_IMMEDIATE: True, _BUSY_MS: busy_ms})
                yield session
        finally:
            queue.release()

    def _writer_queue(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        queue = self._writer_queues.get(loop)
        if queue is None:
            queue = self._writer_queues[loop] = asyncio.Lock()
        return queue

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    dialect = engine.sync_engine.dialect
    # The rollback at the end of a session costs a trip to the connection's thread even
    # when SQLite has no transaction open (a ``read_statement()``, a committed write), and
    # then does nothing (the sqlite3 module skips it in autocommit mode). Skip the trip:
    # SQLAlchemy then rolls back only when SQLite says a transaction is open.
    dialect.skip_autocommit_rollback = True
    dialect.detect_autocommit_setting = _no_transaction_open  # type: ignore[method-assign,assignment]

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={int(busy_timeout_ms)}",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        busy_ms = options.get(_BUSY_MS, busy_timeout_ms)
        if conn.info.get(_BUSY_MS, busy_timeout_ms) != busy_ms:
            # What the writer queue left of the lock wait; the next write restores it.
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_ms)}")
            conn.info[_BUSY_MS] = busy_ms
        if options.get(_NO_BEGIN, False):
            return  # a read_statement(): the statement is its own snapshot
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_IMMEDIATE, False) else "BEGIN")


def _no_transaction_open(dbapi_connection: Any) -> bool:
    """SQLite's own "autocommit mode": no BEGIN is in effect on the connection (our
    connections run with the sqlite3 module's ``isolation_level=None``, so nothing begins
    behind our back). Read from the event loop without a trip to the connection's thread;
    the connection is idle then (the session awaited its last statement)."""
    driver = dbapi_connection.driver_connection
    try:
        return driver is None or not driver.in_transaction
    except ValueError:  # closed: nothing to roll back (aiosqlite's adapter skips it too)
        return True
