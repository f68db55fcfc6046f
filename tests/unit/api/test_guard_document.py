"""The guard reads the key and the version from ``request.headers`` (api/deps.py), so FastAPI
no longer sees a ``Security(HTTPBearer)`` or a ``Header`` parameter; ``GuardedRoute`` and
``install_openapi`` declare them instead. The document must come out byte for byte as when
FastAPI documented the real ones: built here both ways, for the three shapes of route the
API has (parameters of its own, none at all, a header parameter of its own after the guard)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import IdempotencyKeyDep, PrincipalDep, guard
from api.main import create_app
from api.openapi import BEARER_SCHEME, BEARER_SCHEME_DOC, GuardedRoute, errors, install_openapi
from api.versioning import VERSION_HEADER
from tests.utils.inprocess import ApiStack

_bearer = HTTPBearer(
    auto_error=False, scheme_name=BEARER_SCHEME, description=BEARER_SCHEME_DOC["description"]
)


async def resolved_guard(
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _version: Annotated[str | None, Header(alias=VERSION_HEADER)] = None,
) -> None:
    """The guard as FastAPI documented it before: both resolved on every request."""


Guarded = Annotated[None, Depends(resolved_guard)]


def _reference_app() -> FastAPI:
    router = APIRouter(prefix="/v1")

    @router.get("/things/{thing_id}", responses=errors())
    async def get_thing(thing_id: str, _guard: Guarded, q: str | None = None) -> dict[str, str]:
        return {}

    @router.get("/me", responses=errors())
    async def get_me(_guard: Guarded) -> dict[str, str]:
        return {}

    @router.post("/things", responses=errors())
    async def create_thing(_guard: Guarded, key: IdempotencyKeyDep) -> dict[str, str]:
        return {}

    return _app(router)


def _guarded_app() -> FastAPI:
    router = APIRouter(prefix="/v1", route_class=GuardedRoute)

    @router.get("/things/{thing_id}", responses=errors())
    async def get_thing(
        thing_id: str, _guard: PrincipalDep, q: str | None = None
    ) -> dict[str, str]:
        return {}

    @router.get("/me", responses=errors())
    async def get_me(_guard: PrincipalDep) -> dict[str, str]:
        return {}

    @router.post("/things", responses=errors())
    async def create_thing(_guard: PrincipalDep, key: IdempotencyKeyDep) -> dict[str, str]:
        return {}

    return _app(router)


def _app(router: APIRouter) -> FastAPI:
    app = FastAPI(title="guard", openapi_url="/openapi.json")
    app.include_router(router)
    install_openapi(app, bodies=())
    return app


def _text(document: dict[str, Any]) -> str:
    # Key order included: /openapi.json is served in the document's own order.
    return json.dumps(document, ensure_ascii=False, indent=1)


def test_the_declared_guard_documents_exactly_what_the_resolved_one_did() -> None:
    reference, guarded = _reference_app().openapi(), _guarded_app().openapi()
    assert _text(guarded) == _text(reference)
    operation = guarded["paths"]["/v1/things"]["post"]
    assert operation["security"] == [{BEARER_SCHEME: []}]
    assert [p["name"] for p in operation["parameters"]] == [VERSION_HEADER, "Idempotency-Key"]
    assert guarded["components"]["securitySchemes"] == {BEARER_SCHEME: BEARER_SCHEME_DOC}


def test_a_route_without_the_guard_declares_nothing() -> None:
    router = APIRouter(route_class=GuardedRoute)

    @router.get("/open")
    async def open_route() -> dict[str, str]:
        return {}

    document = _app(router).openapi()
    assert "security" not in document["paths"]["/open"]["get"]
    assert "securitySchemes" not in document.get("components", {})


def test_every_guarded_route_of_the_api_declares_the_guard(stack: ApiStack) -> None:
    """A router made without ``route_class=GuardedRoute`` would serve a guarded route whose
    operation documents neither the key nor the version header."""
    app = create_app(stack.settings, migrate=False)  # its routes; never started
    guarded = [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and _uses_guard(context.dependant)
    ]
    assert len(guarded) == 17
    assert all(isinstance(context.original_route, GuardedRoute) for context in guarded)


def _uses_guard(dependant: Dependant) -> bool:
    return any(sub.call is guard or _uses_guard(sub) for sub in dependant.dependencies)
