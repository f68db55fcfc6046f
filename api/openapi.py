"""The API's documentation: OpenAPI fragments for the routes, /docs and /docs/errors.

/docs is Swagger UI served from the swagger-ui-bundle package, so it renders offline.
"""

from __future__ import annotations

from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from api.schemas import ErrorEnvelope
from services.errors import (
    ALL_ERRORS,
    ApiError,
    InvalidToken,
    KeyExpired,
    KeyRevoked,
    RateLimited,
    ServiceUnavailable,
    VersionUnsupported,
)

# Every authenticated route can answer these.
GUARD_ERRORS: tuple[type[ApiError], ...] = (
    InvalidToken,
    KeyRevoked,
    KeyExpired,
    VersionUnsupported,
    RateLimited,
    ServiceUnavailable,
)

_HEADERS = {
    "X-Request-Id": {"description": "req_… id of this request", "schema": {"type": "string"}},
    "Scripe-Api-Version": {"description": "The API version used", "schema": {"type": "string"}},
    "X-RateLimit-Limit": {
        "description": "Requests allowed per 60 s",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {"description": "Left in the window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {
        "description": "Seconds until the oldest counted request leaves the window",
        "schema": {"type": "integer"},
    },
}


def errors(*extra: type[ApiError], guarded: bool = True) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: its success headers, and each error status with the
    codes it can carry."""
    by_status: dict[int, list[str]] = {}
    for error in (*(GUARD_ERRORS if guarded else ()), *extra):
        by_status.setdefault(error.status_code, []).append(error.code)
    out: dict[int | str, dict[str, Any]] = ok()
    for status, codes in sorted(by_status.items()):
        out[status] = {
            "model": ErrorEnvelope,
            "description": "Error codes: " + ", ".join(f"`{c}`" for c in dict.fromkeys(codes)),
            "headers": {k: v for k, v in _HEADERS.items() if k in ("X-Request-Id",)},
        }
    return out


def success_headers() -> dict[str, Any]:
    return dict(_HEADERS)


def ok(description: str = "Success") -> dict[int | str, dict[str, Any]]:
    """The success response's documented headers (merged with FastAPI's own 200)."""
    return {200: {"description": description, "headers": success_headers()}}


ERRORS_PATH = "/docs/errors"
_ASSETS = "/docs/assets"


def install_openapi(app: FastAPI, *, bodies: tuple[type[BaseModel], ...]) -> None:
    """Build the document once, then make it say what the API does.

    Bodies are parsed after the guard chain (see ``api.deps.json_body``), so their schemas
    are added here; and validation errors are our 400 ``invalid_request``, never FastAPI's
    default 422 ``HTTPValidationError``.
    """

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in bodies:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            for operations in document["paths"].values():
                for operation in operations.values():
                    default = operation["responses"].get("422", {})
                    if "HTTPValidationError" in str(default):
                        del operation["responses"]["422"]
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def install_docs(app: FastAPI) -> None:
    app.mount(_ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs")

    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Scripe API",
            swagger_js_url=f"{_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{_ASSETS}/favicon-32x32.png",
        )

    async def error_codes() -> HTMLResponse:
        rows = "".join(
            f'<tr id="{e.code}"><td><code>{e.code}</code></td><td>{e.status_code}</td>'
            f"<td>{e.default_message}</td></tr>"
            for e in ALL_ERRORS
        )
        return HTMLResponse(
            "<!doctype html><title>Scripe API errors</title><h1>Error codes</h1>"
            '<p>Every error is <code>{"error": {code, message, request_id, docs_url, '
            "details?, meta?}}</code>.</p><table><tr><th>code</th><th>status</th>"
            f"<th>meaning</th></tr>{rows}</table>"
        )

    app.add_api_route("/docs", swagger, include_in_schema=False)
    app.add_api_route(ERRORS_PATH, error_codes, include_in_schema=False)
