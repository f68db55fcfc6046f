"""cli/supervisor.py without servers: the settings → environment function and the stop
policy."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from cli.supervisor import Child, Supervisor, port_free, settings_env
from config import Settings
from devtools.serving import free_port
from tests.utils.waiting import eventually


def test_settings_env_passes_what_was_set_and_a_child_reads_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="s3cret-value",
        openai_api_key="sk-fake",
        url_fetch_allow_private=True,
        worker_graceful_shutdown_seconds=1.5,
        llm_prices={"gpt-4o-mini": {"input": 1, "output": 2}},
    )
    monkeypatch.setenv("SCRIPE_REDIS_URL", "redis://a-developer-shell:6379/0")
    env = settings_env(settings, api_port=9123, log_format="text")

    assert env["SCRIPE_SECRET_KEY"] == "s3cret-value"  # secrets revealed, not "*****"
    assert env["SCRIPE_OPENAI_API_KEY"] == "sk-fake"
    assert env["SCRIPE_URL_FETCH_ALLOW_PRIVATE"] == "true"
    assert json.loads(env["SCRIPE_LLM_PRICES"])["gpt-4o-mini"]["output"] == "2"
    assert "SCRIPE_REDIS_URL" not in env  # the shell's SCRIPE_* never leak in
    assert "SCRIPE_OPENAI_MODEL" not in env  # defaults stay the child's defaults
    # Derived values are derived again in the child, from the overridden port.
    assert "SCRIPE_PUBLIC_BASE_URL" not in env and "SCRIPE_DATABASE_URL" not in env

    for name in [n for n in os.environ if n.startswith("SCRIPE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("SCRIPE_"):
            monkeypatch.setenv(name, value)
    child = Settings()
    assert child.public_base_url == "http://127.0.0.1:9123"
    assert child.database_url == settings.database_url
    assert child.signing_key() == b"s3cret-value"
    assert child.llm_prices == settings.llm_prices
    assert child.worker_graceful_shutdown_seconds == 1.5 and child.log_format == "text"


def test_an_explicit_public_url_is_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, public_base_url="https://api.example.com")
    assert settings_env(settings)["SCRIPE_PUBLIC_BASE_URL"] == "https://api.example.com"


def _python(tmp_path: Path, code: str, grace: float) -> Child:
    return Child("child", [sys.executable, "-c", code], None, tmp_path / "child.log", grace)


def test_stop_sends_sigterm_and_returns_the_exit_status(tmp_path: Path) -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = _python(tmp_path, code, grace=30).start()
    _until_logged(child, "ready")
    assert child.stop() == 7 and not child.alive()


def test_a_child_that_ignores_sigterm_is_killed_after_its_grace(tmp_path: Path) -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = _python(tmp_path, code, grace=0.2).start()
    _until_logged(child, "ready")
    assert child.stop() == -signal.SIGKILL and not child.alive()


def test_the_port_a_stopped_child_listened_on_is_free(tmp_path: Path) -> None:
    port = free_port()
    code = (
        "import socket, time\n"
        f"s = socket.create_server(('127.0.0.1', {port}))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = _python(tmp_path, code, grace=5).start()
    _until_logged(child, "ready")
    assert not port_free("127.0.0.1", port)
    child.stop()
    assert port_free("127.0.0.1", port)


def _until_logged(child: Child, text: str) -> None:
    """The child's first line (a blocking read: these children print it at once)."""
    for _ in range(2000):
        child.check_alive()
        if text in child.log_tail():
            return
        child.wait(0.01)
    raise AssertionError(f"{child.name} never printed {text!r}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal")
async def test_a_child_dies_with_its_parent_even_on_kill_9(tmp_path: Path) -> None:
    parent_code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from cli.supervisor import Child\n"
        "child = Child('sleeper', [sys.executable, '-c', 'import time; time.sleep(60)'], None,"
        f" Path({str(tmp_path / 'sleeper.log')!r})).start()\n"
        "print(f'child {child.pid}', flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = _python(tmp_path, parent_code, grace=5)
    parent.cwd = Path(__file__).resolve().parents[2]  # the source tree, for `cli`
    parent.start()
    _until_logged(parent, "child ")
    pid = int(parent.log_tail().split("child ", 1)[1].split()[0])
    grandchild = Path(f"/proc/{pid}")
    try:
        assert grandchild.exists()
        parent.kill9()

        async def gone() -> bool:  # the kernel signals at once; init reaps it soon after
            with contextlib.suppress(FileNotFoundError):
                assert " Z " in (grandchild / "stat").read_text(), f"{pid} outlived its parent"
            return True

        await eventually(gone, timeout=10)
    finally:
        if grandchild.exists():
            os.kill(pid, signal.SIGKILL)


def test_a_retired_child_is_stopped_and_no_longer_watched(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path)
    supervisor.start("kept", [sys.executable, "-c", "import time; time.sleep(60)"])
    retired = supervisor.start("retired", [sys.executable, "-c", "import time; time.sleep(60)"])
    supervisor.retire("retired")
    assert not retired.alive()
    supervisor.check_alive()  # the retired child's exit is not a failure of the stack
    assert list(supervisor.children) == ["kept"]
    supervisor.stop_all()
