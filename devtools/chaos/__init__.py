"""Fault injection against the embedded stack: ``python -m devtools.chaos`` (see RELIABILITY.md)."""
