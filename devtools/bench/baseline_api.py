"""``python -m devtools.bench.baseline_api --port N``: the minimal FastAPI app the bench
compares ``GET /v1/jobs/{id}`` with.

It does what the API's read must do and nothing else: the same bearer-key check (the
product's :class:`ApiKeyAuthenticator`: HMAC-SHA-256 of the key under the same secret,
looked up in the same database through the same short cache) and the same job read
(``get_visible_job``, same engine settings), answered as JSON. No middleware, request
ids, metrics, access log, rate limit, version check, response model or estimate: the
difference between the two is the API's per-request work.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from config import Settings, get_settings
from db.engine import INTERACTIVE, Database
from db.repo import jobs as jobs_repo
from services.auth import ApiKeyAuthenticator
from services.clock import SystemClock
from services.errors import InvalidToken, KeyExpired, KeyRevoked


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, limits=INTERACTIVE)
        state["db"] = db
        state["auth"] = ApiKeyAuthenticator(
            db=db,
            secret=settings.signing_key(),
            cache_seconds=settings.key_cache_seconds,
            clock=SystemClock(),
        )
        yield
        await db.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/jobs/{job_id}")
    async def get_job(job_id: str, request: Request) -> JSONResponse:
        try:
            principal = await state["auth"].authenticate(request.headers.get("authorization"))
        except (InvalidToken, KeyRevoked, KeyExpired):
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        job = await jobs_repo.get_visible_job(
            db=state["db"], job_id=job_id, workspace_id=principal.workspace_id, mode=principal.mode
        )
        if job is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(
            {
                "data": {
                    "id": job.id,
                    "status": job.status,
                    "projectId": job.project_id,
                    "createdAt": job.created_at.isoformat(),
                    "updatedAt": job.updated_at.isoformat(),
                    "postId": job.post_id,
                    "attemptCount": job.attempt_count,
                    "estimateNanos": job.estimate_nanos,
                    "actualNanos": job.actual_nanos,
                }
            }
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.baseline_api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same server as `scripe api` (uvicorn, its default loop and parser), quiet.
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        server_header=False,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
