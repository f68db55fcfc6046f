"""The access matrix's routes are the documented ones: a new route cannot be left out of
the matrix (tests/integration/api/test_access_matrix.py) unnoticed."""

from __future__ import annotations

from tests.utils.inprocess import ApiStack
from tests.utils.routes import ROUTES


async def test_the_matrix_covers_every_route(stack: ApiStack) -> None:
    document = (await stack.http.get("/openapi.json")).json()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == set(ROUTES)
