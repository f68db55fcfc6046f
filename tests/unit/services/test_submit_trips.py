"""The database trips of a submission (``JobService.submit``): counted with engine event
listeners, on SQLite and PostgreSQL, with a Temporal port whose admission answers at once.

A POST with wait reads the project (and the key's latest job) once, inserts, and reads the
job after the wait: three transactions, not the row read again between the admission and
the wait. A 202 QUEUED (no worker answered) acknowledges with UPDATE … RETURNING.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pytest
from sqlalchemy import event, update

from contracts import GenerationOptions, JobStatus, PostGenerationInput, SourceSpec
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.tables import Job
from devtools.tenants import Tenant, make_tenant
from ids import new_id
from services.admission import AdmissionResult
from services.auth import Principal
from services.errors import SpendCapExceeded
from services.jobs import GenerationRequest, JobService
from services.pagination import CursorCodec
from tests.utils.clock import MovableClock
from tests.utils.inprocess import FakeTemporalJobs

SECRET = b"test-secret-key"


class AnsweringTemporal(FakeTemporalJobs):
    """Admission answers ``outcome``; ``on_admit`` runs first (what the workflow's
    reservation would write)."""

    def __init__(self, db: Database, outcome: Literal["admitted", "pending"]) -> None:
        super().__init__()
        self.db = db
        self.outcome: Literal["admitted", "pending"] = outcome
        self.refuse = False
        self.waited: list[str] = []

    async def admit(self, job: PostGenerationInput) -> AdmissionResult:
        self.admitted.append(job)
        if self.refuse:  # the row refused although the update answered (an operator reset)
            async with self.db.write() as session:
                await session.execute(
                    update(Job).where(Job.id == job.job_id).values(status=JobStatus.REFUSED)
                )
                await session.commit()
        return AdmissionResult(outcome=self.outcome)

    async def wait_for_completion(self, job_id: str, timeout_ms: int) -> None:
        self.waited.append(job_id)


@contextmanager
def counted(db: Database) -> Iterator[Counter[str]]:
    """Transactions begun and statements sent on ``db``'s engine while inside."""
    counts: Counter[str] = Counter()
    engine = db.engine.sync_engine

    def on_begin(_conn: Any) -> None:
        counts["transactions"] += 1

    def on_statement(*_args: Any) -> None:
        counts["statements"] += 1

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield counts
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "before_cursor_execute", on_statement)


def principal(tenant: Tenant) -> Principal:
    return Principal(
        key_id=tenant.test_key_id,
        workspace_id=tenant.workspace_id,
        workspace_name="Test Workspace",
        plan="SOLO",
        mode="test",
        rate_limit_per_minute=None,
    )


def request(tenant: Tenant, *, wait_ms: int, key: str | None = None) -> GenerationRequest:
    return GenerationRequest(
        project_id=tenant.project_id,
        source=SourceSpec(text="A note about our release."),
        options=GenerationOptions(),
        scheduled_for=None,
        wait_for_completion_ms=wait_ms,
        canonical_body='{"projectId":"x"}',
        api_version="2026-01-01",
        idempotency_key=key,
    )


def service(db: Database, temporal: AnsweringTemporal) -> JobService:
    return JobService(
        db=db,
        temporal=temporal,
        clock=MovableClock(),
        cursors=CursorCodec(SECRET),
        estimate_nanos=1_000_000,
    )


@pytest.mark.parametrize("key", [None, "trips-key"])
async def test_a_post_with_wait_is_three_transactions(any_db: Database, key: str | None) -> None:
    tenant = await make_tenant(any_db, SECRET)
    temporal = AnsweringTemporal(any_db, "admitted")
    idempotency_key = None if key is None else f"{key}-{new_id('req')}"
    with counted(any_db) as counts:
        submitted = await service(any_db, temporal).submit(
            principal(tenant), request(tenant, wait_ms=5000, key=idempotency_key)
        )
    # The project (and the key's latest job) in one read, the insert, the read after the
    # wait: the row is not read between the admission and the wait.
    assert counts["transactions"] == 3
    assert temporal.waited == [submitted.job.id]
    stored = await jobs_repo.get_job(db=any_db, job_id=submitted.job.id)
    assert stored is not None and submitted.job.updated_at == stored.updated_at
    if any_db.is_sqlite:  # BEGIN IMMEDIATE and the INSERT; each read one statement
        assert counts["statements"] == (5 if key else 4)


async def test_a_post_without_wait_reads_the_admitted_row(any_db: Database) -> None:
    tenant = await make_tenant(any_db, SECRET)
    temporal = AnsweringTemporal(any_db, "admitted")
    with counted(any_db) as counts:
        submitted = await service(any_db, temporal).submit(
            principal(tenant), request(tenant, wait_ms=0)
        )
    assert counts["transactions"] == 3  # the project, the insert, the row as admitted
    assert temporal.waited == []
    assert submitted.job.status == JobStatus.QUEUED  # nothing ran the reservation here


async def test_a_pending_admission_acknowledges_in_one_transaction(any_db: Database) -> None:
    tenant = await make_tenant(any_db, SECRET)
    temporal = AnsweringTemporal(any_db, "pending")
    with counted(any_db) as counts:
        submitted = await service(any_db, temporal).submit(
            principal(tenant), request(tenant, wait_ms=0)
        )
    assert counts["transactions"] == 3  # the project, the insert, UPDATE … RETURNING
    assert submitted.job.acknowledged and submitted.job.status == JobStatus.QUEUED


async def test_a_refused_row_after_an_unread_admission_is_still_a_402(any_db: Database) -> None:
    tenant = await make_tenant(any_db, SECRET)
    temporal = AnsweringTemporal(any_db, "admitted")
    temporal.refuse = True
    with pytest.raises(SpendCapExceeded):
        await service(any_db, temporal).submit(principal(tenant), request(tenant, wait_ms=5000))
