"""GET /v1/health: is the API able to serve (database and Temporal reachable)?"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from sqlalchemy import text

from api.deps import ServicesDep
from api.openapi import GuardedRoute
from api.schemas import Health, HealthChecks
from api.state import AppServices

router = APIRouter(tags=["health"], route_class=GuardedRoute)

APP_VERSION = "0.1.0"
CHECK_TIMEOUT_SECONDS = 1.0  # both checks run at once: the answer comes within ~1 s


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "A dependency is unreachable"}},
)
async def get_health(response: Response, services: ServicesDep) -> Health:
    """Liveness and readiness: no authentication; 503 when degraded."""
    db_ok, temporal_ok = await asyncio.gather(_db_ok(services), services.temporal.reachable())
    healthy = db_ok and temporal_ok
    if not healthy:
        response.status_code = 503
        response.headers["Retry-After"] = "5"
    return Health(
        status="ok" if healthy else "degraded",
        version=APP_VERSION,
        checks=HealthChecks(
            db="ok" if db_ok else "unavailable", temporal="ok" if temporal_ok else "unavailable"
        ),
    )


async def _db_ok(services: AppServices) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with services.db.read() as session:
                await session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure is "unavailable" for a health check
        return False
