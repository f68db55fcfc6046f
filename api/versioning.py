"""API versions: ``Scripe-Api-Version: YYYY-MM-DD``."""

from __future__ import annotations

from typing import Final

VERSION_HEADER: Final = "Scripe-Api-Version"
SUPPORTED_VERSIONS: Final = ("2026-08-01",)
DEFAULT_VERSION: Final = SUPPORTED_VERSIONS[-1]


def effective_version(requested: str | None) -> str | None:
    """The version a request runs under, or None if it asked for one we do not serve."""
    if requested is None:
        return DEFAULT_VERSION
    return requested if requested in SUPPORTED_VERSIONS else None
