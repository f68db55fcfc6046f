"""Schemathesis against ``/openapi.json``: every operation, generated valid and invalid
requests, with valid, missing, unknown, revoked and expired keys.

Each response is checked here: no 5xx; every error in the envelope ``{"error": {code,
message, request_id, docs_url, …}}`` with a documented code and the response's request id;
``X-Request-Id`` on every response. Schemathesis' own conformance checks (status codes,
content types, schemas the document declares) are collected as findings too.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.errors import ALL_ERRORS

CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

DOCUMENTED_CODES = {e.code for e in ALL_ERRORS}
ENVELOPE_KEYS = {"code", "message", "request_id", "docs_url"}
UVICORN_400 = "Invalid HTTP request received."


@dataclass
class FuzzStats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    # Where the response differs from what /openapi.json declares (schemathesis' checks).
    conformance: Counter[str] = field(default_factory=Counter)
    # Requests that are not valid HTTP (e.g. a DEL byte in a header): uvicorn refuses them
    # with its own 400 text/plain before the application sees them.
    protocol_refusals: int = 0

    def problem(self, text: str) -> None:
        if len(self.problems) < 30:
            self.problems.append(text)


def check_response(stats: FuzzStats, label: str, response: Any) -> None:
    stats.requests += 1
    stats.by_status[response.status_code] += 1
    if response.status_code == 400 and response.text == UVICORN_400:
        stats.protocol_refusals += 1
        return
    request_id = header(response, "x-request-id")
    where = f"{label} → {response.status_code}"
    if not request_id:
        stats.problem(f"{where}: no X-Request-Id")
    if response.status_code >= 500:
        stats.problem(f"{where}: server error {response.text[:200]}")
    if response.status_code < 400 or label.endswith("/v1/health"):
        return
    try:
        error = json.loads(response.text)["error"]
    except (ValueError, KeyError, TypeError):
        stats.problem(f"{where}: not in the error envelope: {response.text[:200]!r}")
        return
    if not ENVELOPE_KEYS <= set(error) or error["code"] not in DOCUMENTED_CODES:
        stats.problem(f"{where}: bad envelope {error!r}")
    elif error["request_id"] != request_id:
        stats.problem(f"{where}: request_id differs from X-Request-Id")


def header(response: Any, name: str) -> str | None:
    """Schemathesis' responses keep every value of a header in a list."""
    for key, value in response.headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def fuzz(
    base_url: str,
    variants: dict[str, tuple[dict[str, str], list[GenerationMode]]],
    *,
    examples: int,
    path_parameters: dict[str, str] | None = None,
) -> FuzzStats:
    """Run ``examples`` generated requests per operation, key variant and mode."""
    stats = FuzzStats()
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        label = f"{operation.method.upper()} {operation.path}"
        for variant, (headers, modes) in variants.items():
            for mode in modes:
                fixed = {k: v for k, v in (path_parameters or {}).items() if k in operation.path}
                _run(stats, operation, label, base_url, headers, mode, examples, fixed, variant)
    return stats


def _run(
    stats: FuzzStats,
    operation: Any,
    label: str,
    base_url: str,
    headers: dict[str, str],
    mode: GenerationMode,
    examples: int,
    path_parameters: dict[str, str],
    variant: str,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def one(case: Any) -> None:
        # Our key wins over any Authorization the generator made up (none for "no key").
        sent = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**sent, **headers}
        response = case.call(base_url=base_url, timeout=30)
        stats.by_operation[label] += 1
        check_response(stats, f"{variant} {mode.value} {label}", response)
        if response.text == UVICORN_400:
            return
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except (Exception, BaseExceptionGroup) as err:  # noqa: BLE001 - a finding
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            stats.conformance[f"{label} {response.status_code}: {first[:160]}"] += 1

    try:
        one()
    except HypothesisException as err:  # e.g. no negative data exists for a parameterless op
        stats.by_operation[f"{label} ({variant} {mode.value}): {type(err).__name__}"] += 0
