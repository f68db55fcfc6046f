"""Dependencies: services, and the guard chain every authenticated route runs in order —
authenticate, check the version, count against the rate limit (SPEC §4) — then the body."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from api.context import workspace_id_var
from api.errors import validation_error
from api.state import AppServices
from api.versioning import SUPPORTED_VERSIONS, VERSION_HEADER, effective_version
from services.auth import Principal
from services.errors import InvalidRequest, RateLimited, VersionUnsupported

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
M = TypeVar("M", bound=BaseModel)


async def get_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


ServicesDep = Annotated[AppServices, Depends(get_services)]


# Documents the scheme in OpenAPI; the raw header is read below so that every malformed
# value gets our own 401 invalid_token rather than the framework's 403.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="`Authorization: Bearer scripe_sk_live_…` (or `scripe_sk_test_…` for test mode)",
)


async def authenticate(
    request: Request,
    services: ServicesDep,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    principal = await services.authenticator.authenticate(request.headers.get("authorization"))
    workspace_id_var.set(principal.workspace_id)
    return principal


async def api_version(
    _principal: Annotated[Principal, Depends(authenticate)],
    version: Annotated[
        str | None,
        Header(alias=VERSION_HEADER, description="YYYY-MM-DD; default: the current version."),
    ] = None,
) -> str:
    effective = effective_version(version)
    if effective is None:
        raise VersionUnsupported(
            f"Scripe-Api-Version {version!r} is not supported.",
            details={"accepted": list(SUPPORTED_VERSIONS)},
        )
    return effective


async def rate_limited_principal(
    request: Request,
    services: ServicesDep,
    principal: Annotated[Principal, Depends(authenticate)],
    _version: Annotated[str, Depends(api_version)],
) -> Principal:
    limit = principal.rate_limit_per_minute or services.settings.rate_limit_per_minute
    decision = await services.rate_limiter.hit(principal.workspace_id, limit)
    request.state.rate_limit = decision
    if not decision.allowed:
        services.metrics.rate_limited.inc()
        raise RateLimited(headers={"Retry-After": str(decision.retry_after)})
    return principal


PrincipalDep = Annotated[Principal, Depends(rate_limited_principal)]
VersionDep = Annotated[str, Depends(api_version)]


def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1–64 of [A-Za-z0-9_-]; other values are ignored.",
        ),
    ] = None,
) -> str | None:
    return key if key is not None and _IDEMPOTENCY_KEY.match(key) else None


IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]


@dataclass(frozen=True)
class JsonBody(Generic[M]):
    model: M
    canonical: str  # sorted keys, no insignificant whitespace: the idempotency fingerprint


def json_body(model: type[M]) -> Callable[..., Awaitable[JsonBody[M]]]:
    """Parse the body *after* the guard chain, so a bad key is 401 even with a bad body."""

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
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return JsonBody(model=parsed, canonical=canonical)

    return parse
