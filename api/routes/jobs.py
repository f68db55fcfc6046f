"""Jobs: read one, list them, cancel a queued or running one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import PrincipalDep, ServicesDep
from api.openapi import GuardedRoute, errors
from api.params import date_bound, enum_list, parse_limit
from api.presenters import job_public
from api.schemas import DataEnvelope, JobPublic, ListEnvelope, Pagination
from contracts import PUBLIC_JOB_STATUSES, JobStatus, JobType
from services.errors import (
    BadCursor,
    BadPagination,
    InvalidRequest,
    NotCancellable,
    NotFound,
    ServiceUnavailable,
)
from services.jobs import JobFilters
from services.pagination import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/jobs", tags=["jobs"], route_class=GuardedRoute)


@router.get(
    "/{job_id}",
    response_model=DataEnvelope[JobPublic],
    responses=errors(NotFound),
)
async def get_job(
    job_id: str, services: ServicesDep, principal: PrincipalDep
) -> DataEnvelope[JobPublic]:
    """Read a job: status, progress, result, error and cost."""
    job = await services.jobs.get(principal, job_id)
    return DataEnvelope(
        data=await job_public(job, estimator=services.estimator, now=services.clock.now())
    )


@router.get(
    "",
    response_model=ListEnvelope[JobPublic],
    responses=errors(InvalidRequest, BadPagination, BadCursor),
)
async def list_jobs(
    services: ServicesDep,
    principal: PrincipalDep,
    type: Annotated[str | None, Query(description="Comma-separated job types")] = None,
    status: Annotated[str | None, Query(description="Comma-separated statuses")] = None,
    projectId: str | None = None,
    dateFrom: Annotated[str | None, Query(description="ISO date or date-time, inclusive")] = None,
    dateTo: Annotated[str | None, Query(description="ISO date or date-time, inclusive")] = None,
    limit: Annotated[
        str | None, Query(description=f"1–{MAX_LIMIT}, default {DEFAULT_LIMIT}")
    ] = None,
    cursor: str | None = None,
) -> ListEnvelope[JobPublic]:
    """List the workspace's jobs, newest first."""
    filters = JobFilters(
        types=enum_list("type", type, [t.value for t in JobType]),
        statuses=enum_list("status", status, [s.value for s in PUBLIC_JOB_STATUSES]),
        project_id=projectId,
        created_from=date_bound("dateFrom", dateFrom, end_of_day=False),
        created_to=date_bound("dateTo", dateTo, end_of_day=True),
    )
    page = await services.jobs.list(principal, filters, cursor=cursor, limit=parse_limit(limit))
    now = services.clock.now()
    return ListEnvelope(
        data=[await job_public(j, estimator=services.estimator, now=now) for j in page.items],
        pagination=Pagination(next_cursor=page.next_cursor, has_more=page.has_more),
    )


@router.post(
    "/{job_id}/cancel",
    response_model=DataEnvelope[JobPublic],
    responses={
        **errors(NotFound, NotCancellable, ServiceUnavailable),
        202: {
            "model": DataEnvelope[JobPublic],
            "description": "A RUNNING job whose cancellation was requested but has not "
            "settled yet (within 10 s); it ends CANCELLED (or DONE if its post was stored "
            "first): read it again with GET /v1/jobs/{jobId}",
        },
    },
)
async def cancel_job(
    job_id: str, response: Response, services: ServicesDep, principal: PrincipalDep
) -> DataEnvelope[JobPublic]:
    """Cancel a QUEUED job (its reservation is refunded in full) or a RUNNING one (the step
    in flight is stopped; what the provider already billed stays charged, the rest of the
    reservation is released). 200 with the job once it is CANCELLED."""
    job = await services.jobs.cancel(principal, job_id)
    if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        response.status_code = 202
    return DataEnvelope(
        data=await job_public(job, estimator=services.estimator, now=services.clock.now())
    )
