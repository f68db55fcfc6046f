"""Logs and metrics shared by the API and the worker (configured once per process)."""
