"""The API's documentation: the OpenAPI document, /docs and /docs/errors.

/docs is Swagger UI 5 (it reads OpenAPI 3.1) from the ``fastapi-offline`` package's
assets, served by the API itself, so it renders offline. The document is built by FastAPI
from the routes, then made exact here: stable operation ids, every response header, the
query parameters as the API parses them, and enums for every closed set of values.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from importlib.resources import files
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from api.deps import guard
from api.schemas import ErrorEnvelope, PostStatus
from api.versioning import DEFAULT_VERSION, SUPPORTED_VERSIONS, VERSION_HEADER
from contracts import JOB_ERROR_MESSAGES, PUBLIC_JOB_STATUSES, JobType
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
from services.pagination import DEFAULT_LIMIT, MAX_LIMIT

# The document's own version: a package-safe number (generated clients use it as theirs).
# The API version a request runs under is the Scripe-Api-Version header, also named in
# ``info.x-scripe-api-version``.
DOCUMENT_VERSION = "2026.8.1"

# Every authenticated route can answer these.
GUARD_ERRORS: tuple[type[ApiError], ...] = (
    InvalidToken,
    KeyRevoked,
    KeyExpired,
    VersionUnsupported,
    RateLimited,
    ServiceUnavailable,
)

# Route function name -> operationId: stable names for generated clients, not FastAPI's
# `create_generation_v1_posts_generations_post`.
OPERATION_IDS: dict[str, str] = {
    "create_generation": "createPostGeneration",
    "get_job": "getJob",
    "list_jobs": "listJobs",
    "cancel_job": "cancelJob",
    "get_post": "getPost",
    "list_posts": "listPosts",
    "list_projects": "listProjects",
    "get_project": "getProject",
    "get_current_workspace": "getCurrentWorkspace",
    "get_health": "getHealth",
    "create_endpoint": "createWebhookEndpoint",
    "list_endpoints": "listWebhookEndpoints",
    "get_endpoint": "getWebhookEndpoint",
    "update_endpoint": "updateWebhookEndpoint",
    "delete_endpoint": "deleteWebhookEndpoint",
    "rotate_secret": "rotateWebhookEndpointSecret",
    "list_deliveries": "listWebhookDeliveries",
    "retry_delivery": "retryWebhookDelivery",
}


# operationId -> the one-line summary /docs shows beside the path.
SUMMARIES: dict[str, str] = {
    "createPostGeneration": "Submit a post generation",
    "getJob": "Read a job",
    "listJobs": "List jobs",
    "cancelJob": "Cancel a job",
    "getPost": "Read a post",
    "listPosts": "List a project's posts",
    "listProjects": "List projects",
    "getProject": "Read a project",
    "getCurrentWorkspace": "The calling key's workspace",
    "getHealth": "Health",
    "createWebhookEndpoint": "Register a webhook endpoint",
    "listWebhookEndpoints": "List webhook endpoints",
    "getWebhookEndpoint": "Read a webhook endpoint",
    "updateWebhookEndpoint": "Change a webhook endpoint",
    "deleteWebhookEndpoint": "Delete a webhook endpoint",
    "rotateWebhookEndpointSecret": "Rotate an endpoint's signing secret",
    "listWebhookDeliveries": "List an endpoint's deliveries",
    "retryWebhookDelivery": "Deliver an event again",
}


def operation_id(route: APIRoute) -> str:
    if route.name in OPERATION_IDS:
        return OPERATION_IDS[route.name]
    head, *rest = route.name.split("_")
    return head + "".join(part.title() for part in rest)


_INT = {"type": "integer"}
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "The `req_…` id of this request (also in error bodies and logs).",
        "schema": {"type": "string", "pattern": "^req_[a-z2-7]{26}$"},
    },
    VERSION_HEADER: {
        "description": "The API version this request ran under.",
        "schema": {"type": "string", "enum": list(SUPPORTED_VERSIONS)},
    },
    "X-RateLimit-Limit": {
        "description": "Requests the workspace may make per 60 s (authenticated requests).",
        "schema": _INT,
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current 60 s window.",
        "schema": _INT,
    },
    "X-RateLimit-Reset": {
        "description": "Seconds until the oldest counted request leaves the window.",
        "schema": _INT,
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": _INT,
    },
    "WWW-Authenticate": {
        "description": "`Bearer`: the authentication scheme to use.",
        "schema": {"type": "string"},
    },
}
_RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")

# Query and header parameters as the API parses them (the route functions take strings so
# that a bad value gets our own error code, e.g. bad_pagination for limit).
PARAMETERS: dict[str, dict[str, Any]] = {
    "limit": {
        "description": f"Page size, 1 or more (default {DEFAULT_LIMIT}); values over "
        f"{MAX_LIMIT} count as {MAX_LIMIT}. Anything else is 400 `bad_pagination`.",
        "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
    },
    "cursor": {
        "description": "`pagination.next_cursor` of the previous page of the same list.",
        "schema": {"type": "string"},
    },
    "dateFrom": {
        "description": "Created at or after (inclusive): an RFC 3339 date-time, or a date "
        "(YYYY-MM-DD, from 00:00 UTC). From 2000-01-01.",
        "schema": {"type": "string", "format": "date-time"},
    },
    "dateTo": {
        "description": "Created at or before (inclusive): an RFC 3339 date-time, or a date "
        "(YYYY-MM-DD, until the end of that UTC day).",
        "schema": {"type": "string", "format": "date-time"},
    },
    "Idempotency-Key": {
        "description": "1–64 characters of `A-Z a-z 0-9 _ -`; any other value is 400 "
        "`invalid_request`. Replays within 24 h return the same job.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
    },
    VERSION_HEADER: {
        "description": f"The API version (YYYY-MM-DD); default {DEFAULT_VERSION}. Served: "
        + ", ".join(SUPPORTED_VERSIONS)
        + "; any other is 400 `version_unsupported`.",
        "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    },
}
# The guard (``api.deps.guard``) reads the Authorization and Scripe-Api-Version headers
# itself rather than through ``Security(HTTPBearer)`` and a ``Header`` parameter, which
# FastAPI would resolve on every request: ``GuardedRoute`` declares both in the operation
# instead, and ``_place_guard`` puts them where FastAPI put them.
BEARER_SCHEME = "ApiKey"
_GUARDED = "x-scripe-guarded"  # marks the operations GuardedRoute declared; removed in build
BEARER_SCHEME_DOC: dict[str, Any] = {
    "type": "http",
    "description": "`Authorization: Bearer scripe_sk_live_…` (or `scripe_sk_test_…` for test mode)",
    "scheme": "bearer",
}
_LIST_ENUMS = {
    ("/v1/jobs", "status"): [s.value for s in PUBLIC_JOB_STATUSES],
    ("/v1/jobs", "type"): [t.value for t in JobType],
    ("/v1/posts", "status"): list(get_args(PostStatus)),
}
# Required as enforced (the function checks it, so the message is ours).
_REQUIRED = {("/v1/posts", "projectId")}


def errors(*extra: type[ApiError], guarded: bool = True) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each error status with the codes it can carry."""
    by_status: dict[int, list[str]] = {}
    for error in (*(GUARD_ERRORS if guarded else ()), *extra):
        by_status.setdefault(error.status_code, []).append(error.code)
    out: dict[int | str, dict[str, Any]] = ok()
    for status, codes in sorted(by_status.items()):
        out[status] = {
            "model": ErrorEnvelope,
            "description": "Error codes: " + ", ".join(f"`{c}`" for c in dict.fromkeys(codes)),
        }
    return out


def success_headers() -> dict[str, Any]:
    return {name: HEADERS[name] for name in ("X-Request-Id", VERSION_HEADER, *_RATE_HEADERS)}


def ok(description: str = "Success") -> dict[int | str, dict[str, Any]]:
    """The success response's documented headers (merged with FastAPI's own 200)."""
    return {200: {"description": description, "headers": success_headers()}}


def _response_headers(status: str, *, authenticated: bool) -> dict[str, Any]:
    """The headers a response of this status carries: the request id and version always;
    the rate-limit headers once a key was counted (so never on a 401); Retry-After on
    429 and 503; WWW-Authenticate on 401."""
    names = ["X-Request-Id", VERSION_HEADER]
    if authenticated and status != "401":
        names += _RATE_HEADERS
    if status in ("429", "503"):
        names.append("Retry-After")
    if status == "401":
        names.append("WWW-Authenticate")
    return {name: HEADERS[name] for name in names}


class GuardedRoute(APIRoute):
    """The routers' route class: a route whose dependencies include the guard declares
    the bearer scheme and the version header in its ``openapi_extra``. Declared there, not
    added to the finished document, because FastAPI validates each path item against its
    OpenAPI model and keeps the item's own key order only when that strict validation fails,
    which a parameter makes it do: a route with no parameter of its own (GET
    /v1/workspaces/me) then comes out exactly as it did when the header was a ``Header``."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if _depends_on(self.dependant, guard):
            extra = dict(self.openapi_extra or {})
            extra["security"] = [{BEARER_SCHEME: []}]
            extra["parameters"] = [*extra.get("parameters", []), _version_parameter()]
            extra[_GUARDED] = True
            self.openapi_extra = extra


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


def _version_parameter() -> dict[str, Any]:
    # Fresh per route: FastAPI puts this very dict in the document, which ``_exact`` edits.
    return {
        "name": VERSION_HEADER,
        "in": "header",
        "required": False,
        "schema": dict(PARAMETERS[VERSION_HEADER]["schema"]),
        "description": PARAMETERS[VERSION_HEADER]["description"],
    }


def _place_guard(operation: dict[str, Any]) -> None:
    """``openapi_extra`` is merged at the end of the operation; put the guard's parts where
    FastAPI put them: the security requirement right after ``operationId``, and the version
    header first among the header parameters, after the path and query ones (the guard is
    every route's first dependency with a header, and FastAPI lists parameters in order)."""
    *parameters, version = operation.pop("parameters")
    at = next((i for i, p in enumerate(parameters) if p["in"] not in ("path", "query")), None)
    at = len(parameters) if at is None else at
    security = operation.pop("security")
    rebuilt: dict[str, Any] = {}
    for key, value in operation.items():
        rebuilt[key] = value
        if key == "operationId":
            rebuilt["security"] = security
            rebuilt["parameters"] = [*parameters[:at], version, *parameters[at:]]
    operation.clear()
    operation.update(rebuilt)


def _restore_example_nulls(schemas: dict[str, Any]) -> None:
    """FastAPI writes the document with ``exclude_none``, which also drops the ``null``
    values of examples: a required nullable field left out would make the example fail its
    own schema. Put them back."""
    for schema in schemas.values():
        properties = schema.get("properties", {})
        for example in schema.get("examples", []):
            if not isinstance(example, dict):
                continue
            for name in schema.get("required", []):
                nullable = {"type": "null"} in properties.get(name, {}).get("anyOf", [])
                if name not in example and nullable:
                    example[name] = None


def _exact(document: dict[str, Any]) -> None:
    _restore_example_nulls(document["components"]["schemas"])
    for path, operations in document["paths"].items():
        for operation in operations.values():
            operation["summary"] = SUMMARIES.get(operation["operationId"], operation["summary"])
            authenticated = bool(operation.get("security"))
            for parameter in operation.get("parameters", []):
                name = parameter["name"]
                if name in PARAMETERS:
                    parameter.update(PARAMETERS[name])
                if (path, name) in _LIST_ENUMS:
                    allowed = _LIST_ENUMS[(path, name)]
                    parameter["schema"] = {"type": "string"}
                    parameter["description"] = "Comma-separated, any of: " + ", ".join(
                        f"`{v}`" for v in allowed
                    )
                if (path, name) in _REQUIRED:
                    parameter["required"] = True
                    parameter["schema"] = {"type": "string"}
            for status, response in operation["responses"].items():
                headers = response.setdefault("headers", {})
                for name, header in _response_headers(status, authenticated=authenticated).items():
                    headers.setdefault(name, header)
    document["info"]["x-scripe-api-version"] = DEFAULT_VERSION
    document["info"]["x-scripe-api-versions"] = list(SUPPORTED_VERSIONS)


ERRORS_PATH = "/docs/errors"
_ASSETS = "/docs/assets"
_SWAGGER_UI = files("fastapi_offline") / "static"


def install_openapi(app: FastAPI, *, bodies: tuple[type[BaseModel], ...]) -> None:
    """Build the document once, then make it say what the API does.

    The guarded routes declare the guard's scheme and header (``GuardedRoute``); they are
    put in place here. Bodies are parsed after the guard (see ``api.deps.json_body``), so
    their schemas are added here; and validation errors are our 400 ``invalid_request``,
    never FastAPI's default 422 ``HTTPValidationError``.
    """

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=DOCUMENT_VERSION,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            guarded = [
                operation
                for operations in document["paths"].values()
                for operation in operations.values()
                if operation.pop(_GUARDED, False)
            ]
            for operation in guarded:
                _place_guard(operation)
            if guarded:
                document["components"]["securitySchemes"] = {BEARER_SCHEME: BEARER_SCHEME_DOC}
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
            _exact(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def install_docs(app: FastAPI) -> None:
    app.mount(_ASSETS, StaticFiles(directory=str(_SWAGGER_UI)), name="docs")

    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Scripe API",
            swagger_js_url=f"{_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{_ASSETS}/favicon.png",
        )

    async def error_codes() -> HTMLResponse:
        return HTMLResponse(errors_page())

    app.add_api_route("/docs", swagger, include_in_schema=False)
    app.add_api_route(ERRORS_PATH, error_codes, include_in_schema=False)


def errors_page() -> str:
    """/docs/errors: every HTTP error code, and every job ``errorCode``, by anchor."""
    rows = "".join(
        f'<tr id="{e.code}"><td><code>{e.code}</code></td><td>{e.status_code}</td>'
        f"<td>{html.escape(e.default_message)}</td></tr>"
        for e in ALL_ERRORS
    )
    job_rows = "".join(
        f'<tr id="job-{code}"><td><code>{code}</code></td><td>{html.escape(message)}</td></tr>'
        for code, message in JOB_ERROR_MESSAGES.items()
    )
    return (
        "<!doctype html><meta charset=utf-8><title>Scripe API errors</title>"
        "<h1>Error codes</h1>"
        '<p>Every error is <code>{"error": {code, message, request_id, docs_url, '
        "details?, meta?}}</code>.</p><table><tr><th>code</th><th>status</th>"
        f"<th>meaning</th></tr>{rows}</table>"
        '<h2 id="job-error-codes">Job error codes</h2>'
        "<p>A job that ends <code>FAILED</code> carries one of these as "
        "<code>errorCode</code>, with <code>errorMessage</code> saying the same in words. "
        "The HTTP request that created the job had already succeeded (202).</p>"
        f"<table><tr><th>errorCode</th><th>meaning</th></tr>{job_rows}</table>"
    )
