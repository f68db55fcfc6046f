"""The environment of a child process configured only through ``SCRIPE_*`` variables."""

from __future__ import annotations

import os


def scripe_env(**settings: object) -> dict[str, str]:
    """Ours without any ``SCRIPE_*`` (a developer's shell must not leak in), then
    ``SCRIPE_<NAME>`` for each setting given (booleans as ``true``/``false``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPE_")}
    for name, value in settings.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        env[f"SCRIPE_{name.upper()}"] = text
    return env
