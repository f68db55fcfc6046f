"""Workflow modules compiled to bytecode once, at worker start.

The workflow sandbox re-imports the workflow's own modules for every new workflow instance
(every job). With ``PYTHONDONTWRITEBYTECODE`` set, the import system never writes a
``.pyc``, so each of those imports compiled ``workflows/*.py`` from source again: 7 % of
the worker's busy CPU in the profile (BENCHMARKS.md). The setting only stops *writing*:
a ``.pyc`` that exists is still read, so writing them once here is enough.
"""

from __future__ import annotations

import compileall
import logging
import sys
from pathlib import Path

WORKFLOWS_DIR = Path(__file__).resolve().parent / "workflows"

log = logging.getLogger(__name__)


def compile_workflows(directory: Path = WORKFLOWS_DIR) -> bool:
    """Write the workflow package's ``.pyc`` files when the import system will not.

    Returns whether it compiled anything. A read-only installation (whose files pip
    compiled at install) is left as it is: the worker runs either way.
    """
    if not sys.dont_write_bytecode:
        return False  # the first import writes them, as usual
    try:
        ok = compileall.compile_dir(directory, quiet=2, maxlevels=0)
    except OSError as err:
        log.info("workflow bytecode not written (%s): compiling per instance", err)
        return False
    return bool(ok)
