"""Operator CLI edge cases: expiry dates in the past, unlimited caps, every job status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPE = Path(sys.executable).parent / "scripe"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPE), *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("cli-inputs")
    return {
        **os.environ,
        "SCRIPE_DATA_DIR": str(data),
        "SCRIPE_DATABASE_URL": f"sqlite:///{data / 'cli.db'}",
        "SCRIPE_SECRET_KEY": "cli-test-secret",
    }


def _workspace(env: dict[str, str], plan: str) -> str:
    created = _run(env, "workspaces", "create", "--name", plan.title(), "--plan", plan, "--json")
    assert created.returncode == 0, created.stderr
    return str(__import__("json").loads(created.stdout)["id"])


def test_a_key_cannot_be_created_already_expired(env: dict[str, str]) -> None:
    ws = _workspace(env, "SOLO")
    past = _run(env, "keys", "create", "--workspace", ws, "--expires-at", "2020-01-01T00:00:00")
    assert past.returncode != 0 and "must be in the future" in past.stderr
    future = _run(env, "keys", "create", "--workspace", ws, "--expires-at", "2999-01-01T00:00:00")
    assert future.returncode == 0, future.stderr


def test_workspaces_list_says_unlimited_for_a_workspace_without_a_cap(env: dict[str, str]) -> None:
    ws = _workspace(env, "ENTERPRISE")
    listed = _run(env, "workspaces", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith(ws))
    assert "cap unlimited" in line and "None" not in listed.stdout


def test_jobs_list_accepts_the_refused_status(env: dict[str, str]) -> None:
    """REFUSED shows in `scripe jobs list`; filtering on it must not be a usage error.
    (Temporal is not running here: the command gets past its option check and then
    fails to connect, never with the '--status is one of' message.)"""
    env = {**env, "SCRIPE_TEMPORAL_ADDRESS": "127.0.0.1:1"}
    result = _run(env, "jobs", "list", "--status", "REFUSED")
    assert "--status is one of" not in result.stderr
    bogus = _run(env, "jobs", "list", "--status", "BOGUS")
    assert bogus.returncode != 0 and "--status is one of" in bogus.stderr
