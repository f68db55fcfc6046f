"""POST /v1/posts/generations: submit a post-generation job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api.deps import IdempotencyKeyDep, JsonBody, PrincipalDep, ServicesDep, VersionDep, json_body
from api.openapi import GuardedRoute, errors, success_headers
from api.presenters import job_public
from api.schemas import DataEnvelope, GenerationCreate, JobPublic
from contracts import GenerationOptions, JobStatus, SourceSpec
from services.errors import (
    IdempotencyKeyConflict,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ProviderNotConfigured,
    SpendCapExceeded,
    Unprocessable,
)
from services.jobs import GenerationRequest

router = APIRouter(prefix="/posts", tags=["posts"], route_class=GuardedRoute)

REPLAY_HEADER = {
    "Idempotent-Replayed": {
        "description": "With an Idempotency-Key: true when this answers an earlier request",
        "schema": {"type": "string", "enum": ["true", "false"]},
    }
}

GenerationBody = Annotated[
    JsonBody[GenerationCreate],
    Depends(json_body(GenerationCreate, hints=("wait_for_completion_ms",))),
]


@router.post(
    "/generations",
    status_code=202,
    response_model=DataEnvelope[JobPublic],
    responses={
        **errors(
            InvalidRequest,
            SpendCapExceeded,
            NotFound,
            IdempotencyKeyConflict,
            PayloadTooLarge,
            Unprocessable,
            ProviderNotConfigured,
        ),
        200: {
            "model": DataEnvelope[JobPublic],
            "description": "The job is DONE, FAILED or CANCELLED (after waiting, or a replay)",
            "headers": {**success_headers(), **REPLAY_HEADER},
        },
        202: {
            "description": "The job is QUEUED or RUNNING",
            "headers": {**success_headers(), **REPLAY_HEADER},
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/GenerationCreate"}}
            },
        }
    },
)
async def create_generation(
    response: Response,
    services: ServicesDep,
    principal: PrincipalDep,
    version: VersionDep,
    idempotency_key: IdempotencyKeyDep,
    body: GenerationBody,
) -> DataEnvelope[JobPublic]:
    """Generate a LinkedIn post from a text or URL source, in the project's voice."""
    request = body.model
    options = request.options
    submitted = await services.jobs.submit(
        principal,
        GenerationRequest(
            project_id=request.projectId,
            source=SourceSpec.model_validate(request.source.model_dump()),
            options=GenerationOptions(
                language=options.language if options else None,
                max_length=options.maxLength if options else None,
                tone=options.tone if options else None,
                include_hashtags=options.includeHashtags if options else None,
            ),
            scheduled_for=request.scheduledFor,
            wait_for_completion_ms=request.wait_ms,
            canonical_body=body.canonical,
            legacy_canonical_body=body.canonical_full,
            api_version=version,
            idempotency_key=idempotency_key,
        ),
    )
    job = submitted.job
    if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        response.status_code = 200
    if idempotency_key is not None:
        response.headers["Idempotent-Replayed"] = "true" if submitted.replayed else "false"
    return DataEnvelope(
        data=await job_public(job, estimator=services.estimator, now=services.clock.now())
    )
