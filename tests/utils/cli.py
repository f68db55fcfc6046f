"""Running the operator CLI (``scripe``) against the integration stack's Temporal and
database, as an operator would from a shell."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.utils.processes import process_env
from tests.utils.stack import Stack

SCRIPE = Path(sys.executable).parent / "scripe"


async def scripe(stack: Stack, ui_port: int, *args: str) -> tuple[int, str, str]:
    env = process_env(stack.settings, temporal_ui_url=f"http://127.0.0.1:{ui_port}")
    process = await asyncio.create_subprocess_exec(
        str(SCRIPE),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()
