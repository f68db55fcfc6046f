"""Unit fixtures: no server of any kind. ``stack`` is the real API built by ``create_app``
and called in process on a migrated SQLite file, with a fake of its Temporal port
(tests/utils/inprocess.py); the databases come from the root conftest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.tenants import Tenant
from tests.utils.clock import MovableClock
from tests.utils.inprocess import ApiStack, FakeTemporalJobs, in_process, migrated, unit_settings


@pytest.fixture(scope="session")
async def stack(session_dir: Path) -> AsyncIterator[ApiStack]:
    settings = unit_settings(session_dir)
    db = await migrated(settings)
    clock = MovableClock()
    temporal = FakeTemporalJobs()
    try:
        async with in_process(settings, clock, temporal) as http:
            yield ApiStack(settings=settings, db=db, http=http, clock=clock, temporal=temporal)
    finally:
        await db.dispose()


@pytest.fixture
async def tenant(stack: ApiStack) -> Tenant:
    """A fresh workspace with a live and a test key and one active project."""
    stack.clock.reset()
    stack.temporal.is_reachable = True
    return await stack.tenant()
