"""What the API process loads: HTTP, the services and the data layer, not the worker's code.

The API starts and admits jobs by the workflow's registered names, so importing it pulls in
neither the workflow module nor the activities behind it (and their HTTP client), and
Alembic only when the database needs migrating (tests/unit/db/test_migrate_head.py): about
14 MB of the API's resident memory (BENCHMARKS.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from temporalio import workflow

from contracts import ADMIT_UPDATE, JOB_WORKFLOW_TYPE
from workflows.post_generation import PostGenerationWorkflow

ROOT = Path(__file__).resolve().parents[3]
WORKER_ONLY = ("workflows", "activities", "httpx", "openai", "alembic", "mako")


def test_the_api_does_not_import_the_workers_code() -> None:
    report = (
        "import sys, api.main; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({WORKER_ONLY!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", report], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_names_the_api_uses_are_the_workflows_registered_names() -> None:
    definition = workflow._Definition.must_from_class(PostGenerationWorkflow)
    assert definition.name == JOB_WORKFLOW_TYPE
    assert ADMIT_UPDATE in definition.updates
