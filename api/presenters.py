"""Storage rows → public resources (one place that knows both shapes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from api.schemas import (
    JobCost,
    JobProgress,
    JobPublic,
    JobResult,
    ListEnvelope,
    Pagination,
    PostPublic,
    ProjectPublic,
)
from contracts import JobStatus, JobType
from db.tables import Job, Post, Project
from domain.money import NANOS_PER_DOLLAR, nanos_to_cents
from services.estimates import CompletionEstimator
from services.pagination import Page

R = TypeVar("R")
P = TypeVar("P")


async def job_public(job: Job, *, estimator: CompletionEstimator, now: datetime) -> JobPublic:
    status = JobStatus(job.status)
    in_flight = status in (JobStatus.QUEUED, JobStatus.RUNNING)
    progress = None
    if status is JobStatus.RUNNING and job.progress is not None:
        progress = JobProgress(
            progress=job.progress, message=job.progress_message or "", updatedAt=job.updated_at
        )
    return JobPublic(
        id=job.id,
        type=JobType(job.type),
        status=status.value,
        projectId=job.project_id,
        createdAt=job.created_at,
        updatedAt=job.updated_at,
        startedAt=job.started_at,
        completedAt=job.completed_at,
        progress=progress,
        result=JobResult(postId=job.post_id) if status is JobStatus.DONE and job.post_id else None,
        errorCode=job.error_code if status is JobStatus.FAILED else None,
        errorMessage=job.error_message if status is JobStatus.FAILED else None,
        attemptCount=job.attempt_count,
        estimatedCompletionMs=(
            await estimator.remaining_ms(created_at=job.created_at, now=now) if in_flight else None
        ),
        cost=JobCost(
            estimateCents=nanos_to_cents(job.estimate_nanos),
            actualCents=nanos_to_cents(job.actual_nanos),
            actualUsd=usd_text(job.actual_nanos),
        ),
    )


def usd_text(nanos: int) -> str:
    """Exact nanodollars as a plain decimal string of dollars: 58_000 → "0.000058"."""
    whole, fraction = divmod(max(nanos, 0), NANOS_PER_DOLLAR)
    digits = f"{fraction:09d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def listed(page: Page[R], present: Callable[[R], P]) -> ListEnvelope[P]:
    """A list response: the page's rows as public resources, and where to continue."""
    return ListEnvelope(
        data=[present(row) for row in page.items],
        pagination=Pagination(next_cursor=page.next_cursor, has_more=page.has_more),
    )


def post_public(post: Post) -> PostPublic:
    return PostPublic(
        id=post.id,
        projectId=post.project_id,
        jobId=post.job_id,
        status=post.status,
        platform=post.platform,
        contentType=post.content_type,
        title=post.title,
        content=post.content,
        language=post.language,
        scheduledAt=post.scheduled_at,
        createdAt=post.created_at,
        updatedAt=post.updated_at,
    )


def project_public(project: Project) -> ProjectPublic:
    return ProjectPublic(
        id=project.id,
        name=project.name,
        type=project.type,
        status=project.status,
        url=project.url,
        createdAt=project.created_at,
    )
