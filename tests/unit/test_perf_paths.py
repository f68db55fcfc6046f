"""Cuts on the job's hot path that the bench measures (BENCHMARKS.md, 2026-12-01)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from bytecode import WORKFLOWS_DIR, compile_workflows


@pytest.fixture
def workflows_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_workflow_bytecode_is_written_when_the_import_system_would_not(
    workflows_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    module = workflows_copy / "post_generation.py"
    cached = Path(importlib.util.cache_from_source(str(module)))
    assert not cached.exists()
    assert compile_workflows(workflows_copy)
    assert cached.exists()
    # What the sandbox's import then reads instead of compiling the source again.
    loader = importlib.machinery.SourceFileLoader("post_generation", str(module))
    assert loader.path_stats(str(module))["mtime"] <= cached.stat().st_mtime
    assert loader.get_code("post_generation") is not None


def test_nothing_is_compiled_ahead_when_imports_cache_bytecode_themselves(
    workflows_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert not compile_workflows(workflows_copy)
    assert not (workflows_copy / "__pycache__").exists()


def test_the_worker_compiles_the_workflows_before_it_runs() -> None:
    import inspect

    import worker

    source = inspect.getsource(worker.main)
    assert source.index("compile_workflows()") < source.index("runner.run(")
