"""``upgrade`` reads the database's revision first, and imports Alembic only to migrate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from db.migrate import HEAD_REVISION, alembic_config, current_revision, upgrade

ROOT = Path(__file__).resolve().parents[3]
# Runs ``upgrade`` on the URL given, then prints whether Alembic was imported to do it.
_UPGRADE_AND_REPORT = (
    "import asyncio, sys; from db.migrate import upgrade; "
    "asyncio.run(upgrade(sys.argv[1])); print('alembic' in sys.modules)"
)


def _alembic_imported_by_upgrade(url: str) -> bool:
    result = subprocess.run(
        [sys.executable, "-c", _UPGRADE_AND_REPORT, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip() == "True"


def test_the_head_constant_is_the_newest_migration() -> None:
    config: Config = alembic_config("sqlite+aiosqlite:///unused.db")
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


async def test_a_new_database_is_migrated_and_a_current_one_is_left_alone(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'scripe.db'}"
    assert await current_revision(url) is None
    assert _alembic_imported_by_upgrade(url)  # a new database: Alembic creates the schema
    assert await current_revision(url) == HEAD_REVISION
    assert not _alembic_imported_by_upgrade(url)  # at the head: one query, no Alembic


async def test_a_database_behind_the_head_is_upgraded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'scripe.db'}"
    await upgrade(url, "0001")
    assert await current_revision(url) == "0001"
    await upgrade(url)
    assert await current_revision(url) == HEAD_REVISION
