"""Dependencies: services, and the guard every authenticated route runs first — authenticate,
check the version, count against the rate limit (docs/api.md), in that order — then the
body."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Header, Request
from pydantic import BaseModel, ValidationError

from api.context import workspace_id_var
from api.errors import validation_error
from api.state import AppServices
from api.versioning import SUPPORTED_VERSIONS, VERSION_HEADER, effective_version
from domain import idempotency
from domain.idempotency import canonical_json
from services.auth import Principal
from services.errors import InvalidRequest, RateLimited, VersionUnsupported

M = TypeVar("M", bound=BaseModel)


async def get_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


ServicesDep = Annotated[AppServices, Depends(get_services)]


async def guard(request: Request) -> Principal:
    """The guard chain, in its order, as one dependency: authenticate the key (401), check
    the version (400 ``version_unsupported``), count against the rate limit (429).

    One dependency that reads ``request.headers`` itself, not four resolved by FastAPI with
    ``Security(HTTPBearer)`` and a ``Header`` parameter: the framework's resolution was
    about a tenth of the API's CPU per GET (BENCHMARKS.md, proposal 6). The bearer scheme
    and the version header are declared in the OpenAPI document by
    ``api.openapi.install_openapi`` for every route that depends on this guard. It is a
    dependency, so it runs before FastAPI validates the route's own parameters: a bad key
    is 401 before any 422-style error, and bodies are parsed after it (``json_body``).
    """
    services: AppServices = request.app.state.services
    headers = request.headers
    values = headers.getlist("authorization")
    if len(values) > 1:
        # Which one would win differs between proxies and servers: refuse to guess.
        raise InvalidRequest(
            "Send exactly one Authorization header.",
            details={"field": "Authorization", "reason": "must be sent once"},
        )
    client = request.client.host if request.client is not None else "unknown"
    principal = await services.authenticator.authenticate(
        values[0] if values else None, client=client
    )
    workspace_id_var.set(principal.workspace_id)
    request.state.api_version = _checked_version(headers.get(VERSION_HEADER))
    limit = principal.rate_limit_per_minute or services.settings.rate_limit_per_minute
    decision = await services.rate_limiter.hit(principal.workspace_id, limit)
    request.state.rate_limit = decision  # RequestContextMiddleware writes the headers
    if not decision.allowed:
        services.metrics.rate_limited.inc()
        raise RateLimited(headers={"Retry-After": str(decision.retry_after)})
    return principal


def _checked_version(requested: str | None) -> str:
    effective = effective_version(requested)
    if effective is None:
        raise VersionUnsupported(
            f"Scripe-Api-Version {requested!r} is not supported.",
            details={"accepted": list(SUPPORTED_VERSIONS)},
        )
    return effective


PrincipalDep = Annotated[Principal, Depends(guard)]


async def guarded_version(request: Request, _principal: PrincipalDep) -> str:
    """The version the guard checked (it runs first, once per request: FastAPI caches it)."""
    version: str = request.state.api_version
    return version


VersionDep = Annotated[str, Depends(guarded_version)]


def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1–64 of [A-Za-z0-9_-]; any other value is 400 `invalid_request`.",
        ),
    ] = None,
) -> str | None:
    """A malformed key is refused, never ignored: ignoring it would leave a client that
    believes it is protected against duplicates unprotected."""
    if key is not None and not idempotency.is_valid_key(key):
        raise InvalidRequest(
            "Idempotency-Key: must be 1–64 characters of A-Z, a-z, 0-9, '_' and '-'",
            details={
                "field": "Idempotency-Key",
                "reason": "must be 1–64 characters of A-Z, a-z, 0-9, '_' and '-'",
            },
        )
    return key


IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]


@dataclass(frozen=True)
class JsonBody(Generic[M]):
    model: M
    # Sorted keys, no insignificant whitespace, without the response hints: what the
    # idempotency fingerprint covers.
    canonical: str
    canonical_full: str  # the same, hints included (fingerprints stored before they left)


def json_body(
    model: type[M], *, hints: tuple[str, ...] = ()
) -> Callable[..., Awaitable[JsonBody[M]]]:
    """Parse the body *after* the guard chain, so a bad key is 401 even with a bad body.
    ``hints`` are top-level fields that shape the response, not the job
    (``wait_for_completion_ms``): left out of the canonical form."""

    async def parse(
        request: Request, services: ServicesDep, _principal: PrincipalDep
    ) -> JsonBody[M]:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise InvalidRequest(
                "Send the body as JSON with 'Content-Type: application/json'.",
                details={"field": "body", "reason": "Content-Type must be application/json"},
            )
        raw = await request.body()
        try:
            value: Any = json.loads(raw)
        except (ValueError, RecursionError) as err:
            raise InvalidRequest(
                "The body is not valid JSON.", details={"field": "body", "reason": "invalid JSON"}
            ) from err
        try:
            parsed = model.model_validate_json(
                raw, context={"allow_http": services.settings.url_fetch_allow_private}
            )
        except ValidationError as err:
            raise validation_error([dict(e) for e in err.errors()]) from err
        core = {k: v for k, v in value.items() if k not in hints} if hints else value
        return JsonBody(
            model=parsed, canonical=canonical_json(core), canonical_full=canonical_json(value)
        )

    return parse
