"""The error envelope on every error path (docs/api.md, "Errors"), from one exception family.

Handlers: the ``ApiError`` family (by MRO, one handler covers all codes); Starlette's
``HTTPException`` (unknown routes and wrong methods); request validation; outages of the
database or Temporal (503); and any other exception (500, nothing internal leaked).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from api.context import request_id_var
from api.validation import reason
from api.versioning import DEFAULT_VERSION, VERSION_HEADER, effective_version
from db.errors import is_bad_client_data, is_database_outage
from services.admission import is_unreachable
from services.errors import (
    ApiError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
)

log = logging.getLogger("scripe.api")

DOCS_PATH = "/docs/errors"  # served by api/openapi.py


def error_response(request: Request | None, error: ApiError) -> JSONResponse:
    body: dict[str, Any] = {
        "code": error.code,
        "message": error.message,
        "request_id": request_id_var.get(),
        "docs_url": f"{_base_url(request)}{DOCS_PATH}#{error.code}",
    }
    if error.details is not None:
        body["details"] = error.details
    if error.meta is not None:
        body["meta"] = error.meta
    headers = {"X-Request-Id": request_id_var.get(), **error.headers}
    if error.status_code == 401:
        # RFC 6750: a 401 names the scheme the client should use.
        headers.setdefault("WWW-Authenticate", "Bearer")
    if request is not None:  # the 500 handler runs outside the middleware that adds it
        requested = request.headers.get(VERSION_HEADER)
        headers[VERSION_HEADER] = effective_version(requested) or DEFAULT_VERSION
    return JSONResponse({"error": body}, status_code=error.status_code, headers=headers)


def _base_url(request: Request | None) -> str:
    settings = getattr(request.app.state, "settings", None) if request is not None else None
    return settings.public_base_url if settings is not None else ""


def validation_error(errors: list[dict[str, Any]]) -> InvalidRequest:
    """400 naming the first offending field; all of them in ``details.errors``."""
    fields = [{"field": _field_name(e.get("loc", ())), "reason": reason(e)} for e in errors]
    first = fields[0] if fields else {"field": "body", "reason": "is invalid"}
    return InvalidRequest(
        f"{first['field']}: {first['reason']}",
        details={"field": first["field"], "reason": first["reason"], "errors": fields},
    )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "header", "path")]
    # The source union puts its variant tag second in the path (source.<tag>.url): drop it.
    if len(parts) >= 2 and parts[0] == "source" and parts[1] in ("text", "url"):
        del parts[1]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error: ApiError
        if exc.status_code == 404:
            error = NotFound("No such route.")
        elif exc.status_code == 405:
            error = MethodNotAllowed(headers=dict(exc.headers or {}))
        elif exc.status_code < 500:
            error = InvalidRequest(str(exc.detail))
        else:
            error = InternalError()
        return error_response(request, error)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, validation_error(list(exc.errors())))

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeoutError)
    @app.exception_handler(ConnectionError)
    @app.exception_handler(TimeoutError)  # a dependency's own timeout (asyncpg, asyncio)
    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        log.warning("dependency unavailable: %s", type(exc).__name__, exc_info=exc)
        return error_response(request, ServiceUnavailable())

    @app.exception_handler(RPCError)
    async def _temporal_error(request: Request, exc: RPCError) -> JSONResponse:
        if is_unreachable(exc):
            log.warning("Temporal unavailable: %s", exc.status)
            return error_response(request, ServiceUnavailable())
        log.error("Temporal call failed", exc_info=exc)
        return error_response(request, InternalError())

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if is_database_outage(exc):
            log.warning("database unavailable: %s", type(exc.orig).__name__)
            return error_response(request, ServiceUnavailable())
        if is_bad_client_data(exc):
            log.info("value refused by the database: %s", type(exc.orig).__name__)
            return error_response(
                request, InvalidRequest("The request contains characters that are not allowed.")
            )
        log.error("database error", exc_info=exc)
        return error_response(request, InternalError())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs in ServerErrorMiddleware, outside our middleware: error_response sets the
        # X-Request-Id header itself.
        log.error("unhandled error", exc_info=exc)
        return error_response(request, InternalError())
