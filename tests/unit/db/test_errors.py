"""Database errors, produced for real on SQLite and PostgreSQL, and what they mean: wait
(transient) or give up (permanent); and the bounded retry of a step built on that."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from db.engine import Database, WaitLimits
from db.errors import ErrorKind, StorageRejected, classify
from db.retry import retrying
from devtools.serving import free_port
from tests.utils.sqlite_lock import write_lock_held

QUICK = WaitLimits(lock_ms=100, pool_seconds=1, connect_seconds=1, statement_ms=None)


async def error_of(db: Database, statement: str, **params: object) -> BaseException:
    try:
        async with db.write() as session:
            await session.execute(text(statement), params)
            await session.commit()
    except Exception as err:  # noqa: BLE001 - the error is what is under test
        return err
    raise AssertionError(f"{statement} succeeded")


async def test_a_locked_sqlite_file_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    db = Database(f"sqlite+aiosqlite:///{path}", limits=QUICK)
    async with db.write() as session:
        await session.execute(text("CREATE TABLE t (x INTEGER)"))
        await session.commit()
    with write_lock_held(path):
        err = await error_of(db, "INSERT INTO t VALUES (1)")
    await db.dispose()
    assert isinstance(err, OperationalError)
    assert classify(err) is ErrorKind.TRANSIENT


async def test_an_unreachable_postgres_is_transient() -> None:
    db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none", limits=QUICK)
    err = await error_of(db, "SELECT 1")
    await db.dispose()
    assert classify(err) is ErrorKind.TRANSIENT


@pytest.mark.postgres
async def test_a_terminated_postgres_backend_is_transient(postgres_db: Database) -> None:
    err = await error_of(postgres_db, "SELECT pg_terminate_backend(pg_backend_pid())")
    assert classify(err) is ErrorKind.TRANSIENT


@pytest.mark.postgres
async def test_a_nul_character_on_postgres_is_permanent(postgres_db: Database) -> None:
    err = await error_of(postgres_db, "SELECT CAST(:v AS text)", v="a\x00b")
    assert classify(err) is ErrorKind.PERMANENT


async def test_a_duplicate_key_is_permanent(any_db: Database) -> None:
    statement = (
        "INSERT INTO workspaces (id, name, plan, created_at) VALUES ('ws_dup', 'x', 'SOLO', :now)"
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        async with any_db.write() as session:
            await session.execute(text(statement), {"now": now})
            await session.commit()
    except Exception:  # noqa: BLE001 - the row may exist from the other database's run
        pass
    err = await error_of(any_db, statement, now=now)
    assert classify(err) is ErrorKind.PERMANENT


@pytest.mark.parametrize(
    ("err", "kind"),
    [
        (LookupError("job gone"), ErrorKind.PERMANENT),
        (OverflowError("date value out of range"), ErrorKind.PERMANENT),
        (ConnectionRefusedError(), ErrorKind.TRANSIENT),
        (TimeoutError(), ErrorKind.TRANSIENT),
        (RuntimeError("not the database's"), None),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_plain_errors(err: BaseException, kind: ErrorKind | None) -> None:
    assert classify(err) is kind


async def test_a_transient_error_is_retried_inside_the_step() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionRefusedError("database down")
        return "stored"

    assert await retrying(flaky, what="a step") == "stored"
    assert calls == 3


async def test_a_permanent_error_ends_the_step_at_once() -> None:
    calls = 0

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise OverflowError("date value out of range")

    with pytest.raises(StorageRejected) as raised:
        await retrying(refused, what="storing the post")
    assert calls == 1 and isinstance(raised.value.__cause__, OverflowError)


async def test_the_retry_budget_is_bounded() -> None:
    calls = 0

    async def down() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionRefusedError("database down")

    with pytest.raises(ConnectionRefusedError):
        await retrying(down, what="a step", budget_seconds=1.0)
    assert 2 <= calls <= 4
