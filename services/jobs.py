"""Jobs as customers see them: submit (with idempotency), read, list, cancel."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts import (
    GENERATION_ROUTE,
    GenerationOptions,
    JobMode,
    JobStatus,
    JobType,
    PostGenerationInput,
    SourceSpec,
    SpendRefusal,
)
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import projects as projects_repo
from db.tables import Job
from domain.money import nanos_to_cents
from ids import derived_job_id, idempotency_scope, new_id
from services.admission import TemporalJobs
from services.auth import Principal
from services.clock import Clock
from services.errors import (
    IdempotencyKeyConflict,
    NotCancellable,
    NotFound,
    SpendCapExceeded,
    Unprocessable,
)
from services.pagination import CursorCodec, Page, paginate

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# How long cancelling a RUNNING job waits for its workflow to settle it before answering.
CANCEL_WAIT_MS = 10_000


@dataclass(frozen=True)
class GenerationRequest:
    project_id: str
    source: SourceSpec
    options: GenerationOptions
    scheduled_for: datetime | None
    wait_for_completion_ms: int
    canonical_body: str  # sorted keys, no insignificant whitespace
    api_version: str
    idempotency_key: str | None


@dataclass(frozen=True)
class JobFilters:
    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    project_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class Submitted:
    job: Job
    replayed: bool


class JobService:
    def __init__(
        self,
        *,
        db: Database,
        temporal: TemporalJobs,
        clock: Clock,
        cursors: CursorCodec,
        estimate_nanos: int,
        record_admission: Callable[[str], None] = lambda _outcome: None,
    ) -> None:
        """``record_admission`` is told each admission's outcome (metrics): ``admitted``,
        ``refused``, ``pending`` (no worker answered in time) or ``closed``."""
        self._db = db
        self._cursors = cursors
        self._temporal = temporal
        self._clock = clock
        self._estimate_nanos = estimate_nanos
        self._record_admission = record_admission

    async def submit(self, principal: Principal, request: GenerationRequest) -> Submitted:
        """Create (or find) the job, get it admitted, and wait for it if asked."""
        # Stored at the precision customers see, so a createdAt copied from a response is
        # an exact bound for dateFrom/dateTo.
        now = self._clock.now()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        await self._check_project(principal, request.project_id)
        if request.scheduled_for is not None and request.scheduled_for <= now:
            raise Unprocessable(
                "scheduledFor must be in the future.", details={"field": "scheduledFor"}
            )
        fingerprint = hashlib.sha256(
            f"{request.canonical_body}\n{request.api_version}".encode()
        ).hexdigest()
        job, replayed = await self._find_or_create(principal, request, fingerprint, now)
        if job.status == JobStatus.QUEUED and not job.acknowledged:
            job = await self._admit(job)
        if request.wait_for_completion_ms > 0 and job.status in (
            JobStatus.QUEUED,
            JobStatus.RUNNING,
        ):
            await self._temporal.wait_for_completion(job.id, request.wait_for_completion_ms)
            job = await self._reload(job.id)
        return Submitted(job=job, replayed=replayed)

    async def _check_project(self, principal: Principal, project_id: str) -> None:
        project = await projects_repo.get_project(db=self._db, project_id=project_id)
        if project is None or project.workspace_id != principal.workspace_id:
            raise NotFound("No such project.", details={"field": "projectId"})
        if project.status != "ACTIVE":
            raise Unprocessable(
                f"The project is {project.status.lower()}; only active projects take new jobs.",
                details={"field": "projectId", "projectStatus": project.status},
            )

    async def _find_or_create(
        self, principal: Principal, request: GenerationRequest, fingerprint: str, now: datetime
    ) -> tuple[Job, bool]:
        scope = None
        generation = 0
        if request.idempotency_key is not None:
            scope = idempotency_scope(
                workspace_id=principal.workspace_id,
                mode=principal.mode,
                route=GENERATION_ROUTE,
                key=request.idempotency_key,
            )
            latest = await jobs_repo.latest_for_scope(db=self._db, scope=scope)
            if latest is not None:
                if _remembered(latest, now):
                    return _replay(latest, fingerprint), True
                # Refused, or older than 24 h: the key starts a new job with a new id.
                generation = latest.idempotency_generation + 1
        job_id = derived_job_id(scope=scope, generation=generation) if scope else new_id("job")
        workflow_input = PostGenerationInput(
            job_id=job_id,
            workspace_id=principal.workspace_id,
            mode=JobMode(principal.mode),
            project_id=request.project_id,
            source=request.source,
            options=request.options,
            scheduled_for=request.scheduled_for,
            estimate_nanos=self._estimate_nanos,
        )
        inserted = await jobs_repo.insert_job(
            db=self._db,
            job_id=job_id,
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            type=JobType.POST_GENERATION.value,
            project_id=request.project_id,
            idempotency_scope=scope,
            idempotency_generation=generation,
            fingerprint=fingerprint,
            workflow_input=workflow_input.model_dump(mode="json"),
            estimate_nanos=self._estimate_nanos,
            now=now,
        )
        if inserted is not None:
            return inserted, False
        # A concurrent duplicate created this generation of the key first: converge on it.
        return _replay(await self._reload(job_id), fingerprint), True

    async def _admit(self, job: Job) -> Job:
        workflow_input = PostGenerationInput.model_validate(job.workflow_input)
        result = await self._temporal.admit(workflow_input)
        if result.outcome == "refused":
            self._record_admission("refused")
            raise _spend_cap_exceeded(result.refusal)
        if result.outcome == "pending":
            # No worker answered in time: the job is accepted and will be admitted when one
            # does (a refusal then fails the job visibly). If the refusal won the race, 402.
            acknowledged = await jobs_repo.acknowledge(
                db=self._db, job_id=job.id, now=self._clock.now()
            )
            job = acknowledged or job
        else:
            job = await self._reload(job.id)
        if job.status == JobStatus.REFUSED:
            self._record_admission("refused")
            refusal = SpendRefusal.model_validate(job.refusal) if job.refusal else None
            raise _spend_cap_exceeded(refusal)
        self._record_admission(result.outcome)
        return job

    async def _reload(self, job_id: str) -> Job:
        job = await jobs_repo.get_job(db=self._db, job_id=job_id)
        if job is None:  # pragma: no cover - rows are never deleted
            raise NotFound()
        return job

    async def get(self, principal: Principal, job_id: str) -> Job:
        job = await jobs_repo.get_visible_job(
            db=self._db, job_id=job_id, workspace_id=principal.workspace_id, mode=principal.mode
        )
        if job is None:
            raise NotFound("No such job.")
        return job

    async def cancel(self, principal: Principal, job_id: str) -> Job:
        """QUEUED → CANCELLED at once: the workflow finds the job cancelled when it comes to
        admit it and ends without reserving anything. RUNNING: the workflow is cancelled
        (the step in flight stops through its heartbeat, billed calls stay charged, the rest
        of the reservation is released); waits up to ``CANCEL_WAIT_MS`` for it to settle and
        returns the job as it is then (still RUNNING if the workflow has not settled yet, or
        DONE if the post was stored before the cancellation reached it)."""
        cancelled, job = await jobs_repo.cancel_if_queued(
            db=self._db,
            job_id=job_id,
            workspace_id=principal.workspace_id,
            mode=principal.mode,
            now=self._clock.now(),
        )
        if job is None or not jobs_repo.is_visible(job):
            raise NotFound("No such job.")
        if cancelled:
            return job
        if job.status == JobStatus.RUNNING:
            await self._temporal.request_cancel(job.id)
            await self._temporal.wait_for_completion(job.id, CANCEL_WAIT_MS)
            return await self._reload(job.id)
        raise NotCancellable(
            f"The job is {job.status}; only QUEUED and RUNNING jobs can be cancelled.",
            details={"status": job.status},
        )

    async def list(
        self,
        principal: Principal,
        filters: JobFilters,
        *,
        cursor: str | None,
        limit: int,
    ) -> Page[Job]:
        """Newest first, ``limit`` at a time, continuing after ``cursor``."""

        async def fetch(after: tuple[datetime, str] | None, size: int) -> list[Job]:
            return await jobs_repo.list_jobs(
                db=self._db,
                workspace_id=principal.workspace_id,
                mode=principal.mode,
                types=filters.types,
                statuses=filters.statuses,
                project_id=filters.project_id,
                created_from=filters.created_from,
                created_to=filters.created_to,
                after=after,
                limit=size,
            )

        scope = "|".join((principal.workspace_id, principal.mode, "GET /v1/jobs", repr(filters)))
        return await paginate(fetch, codec=self._cursors, scope=scope, cursor=cursor, limit=limit)


def _remembered(job: Job, now: datetime) -> bool:
    return job.status != JobStatus.REFUSED and now - job.created_at < IDEMPOTENCY_WINDOW


def _replay(job: Job, fingerprint: str) -> Job:
    if job.fingerprint != fingerprint:
        raise IdempotencyKeyConflict()
    return job


def _spend_cap_exceeded(refusal: SpendRefusal | None) -> SpendCapExceeded:
    meta = None
    message = "The workspace's daily AI spend cap has been reached; it resets at 00:00 UTC."
    if refusal is not None:
        meta = {
            "bucketDate": refusal.bucket_date.isoformat(),
            "capCents": nanos_to_cents(refusal.cap_nanos),
            "spentCents": nanos_to_cents(refusal.spent_nanos),
            "estimateCents": nanos_to_cents(refusal.estimate_nanos),
        }
        reset = refusal.bucket_date + timedelta(days=1)
        message = (
            f"The workspace's daily AI spend cap of {meta['capCents']} cents for "
            f"{refusal.bucket_date.isoformat()} (UTC) has been reached; it resets at "
            f"{reset.isoformat()}T00:00:00Z."
        )
    return SpendCapExceeded(message, meta=meta)
