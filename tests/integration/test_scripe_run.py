"""``scripe run`` as a new user runs it: its children go away with it, even when it is
killed without a chance to stop them, and it says what to install when the embedded
Temporal server is missing."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.supervisor import Child, port_free, scripe_env
from config import get_settings
from devtools.serving import free_port
from tests.utils.waiting import eventually


def _children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc, zombies left out)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def _running(pid: int) -> bool:
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return False


@pytest.fixture
def run_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[str, int]]]:
    ports = {
        "api": free_port(),
        "temporal": free_port(),
        "ui": free_port(),
        "metrics": free_port(),
    }
    env = scripe_env(
        data_dir=tmp_path / "data",
        api_port=ports["api"],
        temporal_address=f"127.0.0.1:{ports['temporal']}",
        worker_metrics_port=ports["metrics"],
        log_format="text",
    )
    yield {**env, "PYTHONUNBUFFERED": "1"}, ports


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal")
async def test_kill_9_of_scripe_run_takes_its_children_and_frees_the_ports(
    tmp_path: Path, run_env: tuple[dict[str, str], dict[str, int]]
) -> None:
    env, ports = run_env
    command = [sys.executable, "-m", "cli.main", "run", "--ui-port", str(ports["ui"])]
    run = Child("scripe-run", command, env, tmp_path / "run.log", cwd=tmp_path).start()
    children: set[int] = set()
    try:

        async def ready() -> bool:
            run.check_alive()
            return "SCRIPE_API_KEY=" in run.log_tail(100_000)

        await eventually(ready, timeout=120, interval=0.2)
        children = _children_of(run.pid)
        assert len(children) == 3, children  # the dev server, the worker, the API

        run.kill9()  # no signal handler runs, no ordered stop

        async def all_gone() -> bool:
            running = {pid for pid in children if _running(pid)}
            assert not running, f"still running: {running}"
            busy = [p for p in ports.values() if not port_free("127.0.0.1", p)]
            assert not busy, f"ports still bound: {busy}"
            return True

        await eventually(all_gone, timeout=30, interval=0.2)
    finally:
        run.stop()
        for pid in children:  # only if the test failed: never leave them running
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


async def test_sigterm_stops_scripe_run_and_all_it_started(
    tmp_path: Path, run_env: tuple[dict[str, str], dict[str, int]]
) -> None:
    env, ports = run_env
    command = [sys.executable, "-m", "cli.main", "run", "--ui-port", str(ports["ui"])]
    run = Child("scripe-run", command, env, tmp_path / "run.log", cwd=tmp_path).start()
    children: set[int] = set()
    try:

        async def ready() -> bool:
            run.check_alive()
            return "Or add" in run.log_tail(100_000)  # the last line it prints

        await eventually(ready, timeout=120, interval=0.2)
        children = _children_of(run.pid)
        printed = run.log_tail(100_000)
        api = f"http://127.0.0.1:{ports['api']}"
        assert f"SCRIPE_API_URL={api}\n" in printed
        assert "SCRIPE_API_KEY=scripe_sk_test_" in printed and "SCRIPE_PROJECT_ID=proj_" in printed
        assert f"curl -sS -X POST {api}/v1/posts/generations" in printed

        assert run.stop() == 0  # SIGTERM: the same ordered stop as Ctrl-C
        assert "Stopping…" in run.log_tail()
        assert not {pid for pid in children if _running(pid)}
        assert all(port_free("127.0.0.1", p) for p in ports.values())
    finally:
        run.stop()
        for pid in children:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_scripe_run_without_the_embedded_extra_says_what_to_install(
    tmp_path: Path,
    run_env: tuple[dict[str, str], dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, ports = run_env
    for name, value in env.items():
        if name.startswith("SCRIPE_"):
            monkeypatch.setenv(name, value)
    # An interpreter whose folder has no `temporal` next to it, as in the production image.
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["run", "--ui-port", str(ports["ui"])])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "embedded Temporal server is not installed" in result.output
    assert "[embedded]" in result.output and "--external-temporal" in result.output
