"""What a database error means for the caller: wait and try again, or give up.

One home for the classification, used by the API (503 for an outage, 400 for a value the
database refuses) and by the worker's steps (retry a transient error inside the step; fail
the job ``storage_rejected`` on a permanent one).

* **transient**: the database is not available right now, the query itself is fine: a
  dropped or refused connection, a pool or lock wait that ran out, SQLite's "database is
  locked", PostgreSQL SQLSTATE classes 08 (connection), 53 (insufficient resources), 57
  (operator intervention: 57014 statement timeout, 57P01 backend terminated), 55P03 (lock
  not available), 40001/40P01 (serialization failure, deadlock);
* **permanent**: trying again gives the same answer: SQLSTATE 22 (data exception, e.g. a
  NUL character), 23 (integrity), 42 (syntax or a missing column), a value that cannot be
  bound (``OverflowError`` of a datetime past year 9999, ``ValueError``), and a row that is
  not there (``LookupError``, raised by the repositories).
"""

from __future__ import annotations

import enum

from sqlalchemy.exc import DataError as SaDataError
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from domain.errors import ScripeError

# SQLSTATE classes that mean "the database is not available right now" (the API's 503).
OUTAGE_SQLSTATES = ("08", "53", "57", "55P03")
# ... and what else a step may simply run again: serialization failure, deadlock.
TRANSIENT_SQLSTATES = (*OUTAGE_SQLSTATES, "40001", "40P01")
# SQLSTATE classes that mean "this value or statement is refused, whenever you try".
REFUSED_SQLSTATES = ("22", "23", "42", "44")


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


class StorageRejected(ScripeError):
    """A database step failed permanently; ``__cause__`` is the database's error."""


def sqlstate_of(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(exc, "sqlstate", None) or "")


def is_database_outage(exc: DBAPIError) -> bool:
    """The API's 503: the connection went away or the server cannot serve right now."""
    return exc.connection_invalidated or sqlstate_of(exc).startswith(OUTAGE_SQLSTATES)


def is_bad_client_data(exc: DBAPIError) -> bool:
    """SQLSTATE class 22 (data exception): a value PostgreSQL cannot take, e.g. a NUL
    character in an id from the path or the query string (SQLite takes it and finds
    nothing)."""
    return sqlstate_of(exc).startswith("22")


def classify(exc: BaseException) -> ErrorKind | None:
    """Transient, permanent, or None for an error that is not the database's."""
    if isinstance(exc, StorageRejected):
        return ErrorKind.PERMANENT
    if isinstance(exc, PoolTimeoutError | DisconnectionError):
        return ErrorKind.TRANSIENT
    if isinstance(exc, DBAPIError):
        sqlstate = sqlstate_of(exc)
        if exc.connection_invalidated or sqlstate.startswith(TRANSIENT_SQLSTATES):
            return ErrorKind.TRANSIENT
        if sqlstate.startswith(REFUSED_SQLSTATES):
            return ErrorKind.PERMANENT
        if isinstance(exc, SaDataError | IntegrityError):
            return ErrorKind.PERMANENT
        if isinstance(exc, OperationalError | InterfaceError):
            # SQLite's "database is locked"/"disk I/O error", asyncpg's "connection is
            # closed" and errors without a SQLSTATE: the server, not the statement.
            return ErrorKind.TRANSIENT
        return ErrorKind.PERMANENT
    if isinstance(exc, StatementError):
        # Raised before the statement reached the database: binding a value failed.
        return classify(exc.orig) if exc.orig is not None else ErrorKind.PERMANENT
    if isinstance(exc, OverflowError | ValueError | LookupError):
        return ErrorKind.PERMANENT
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        # asyncpg refuses a new connection with OSError; asyncio's waits time out.
        return ErrorKind.TRANSIENT
    return _asyncpg_kind(exc)


def _asyncpg_kind(exc: BaseException) -> ErrorKind | None:
    """asyncpg's own errors when they surface unwrapped (e.g. from a pool ping)."""
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - the SQLite-only install
        return None
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = sqlstate_of(exc)
        if sqlstate.startswith(TRANSIENT_SQLSTATES):
            return ErrorKind.TRANSIENT
        return ErrorKind.PERMANENT
    if isinstance(exc, asyncpg.InterfaceError):
        return ErrorKind.TRANSIENT
    return None
