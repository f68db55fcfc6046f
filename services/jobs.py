"""Jobs as customers see them: submit (with idempotency), read, list, cancel."""

from __future__ import annotations

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
from db.tables import Job, Project
from domain import idempotency
from domain.money import NANOS_PER_CENT, nanos_to_cents
from ids import is_id, new_id
from services.admission import TemporalJobs
from services.auth import Principal
from services.clock import Clock
from services.errors import (
    IdempotencyKeyConflict,
    InvalidRequest,
    NotCancellable,
    NotFound,
    ProviderNotConfigured,
    SpendCapExceeded,
    Unprocessable,
)
from services.pagination import CursorCodec, Page, paginate

# How long cancelling a RUNNING job waits for its workflow to settle it before answering.
CANCEL_WAIT_MS = 10_000
# How far ahead a post can be scheduled; later is a typo, not a plan.
SCHEDULE_HORIZON = timedelta(days=2 * 365)


@dataclass(frozen=True)
class GenerationRequest:
    project_id: str
    source: SourceSpec
    options: GenerationOptions
    scheduled_for: datetime | None
    wait_for_completion_ms: int
    # The body's canonical JSON (sorted keys, no insignificant whitespace) without the
    # response hints (wait_for_completion_ms): what the idempotency fingerprint covers.
    canonical_body: str
    api_version: str
    idempotency_key: str | None
    # The whole body's canonical JSON: the fingerprint of jobs stored before the hints were
    # left out of it, still honoured for their 24 h window.
    legacy_canonical_body: str | None = None


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
        live_writer: bool = True,
    ) -> None:
        """``record_admission`` is told each admission's outcome (metrics): ``admitted``,
        ``refused``, ``pending`` (no worker answered in time) or ``closed``.
        ``live_writer`` says whether a provider is configured: without one, live keys are
        refused (503) instead of being served the offline writer's posts."""
        self._live_writer = live_writer
        self._db = db
        self._cursors = cursors
        self._temporal = temporal
        self._clock = clock
        self._estimate_nanos = estimate_nanos
        self._record_admission = record_admission

    async def submit(self, principal: Principal, request: GenerationRequest) -> Submitted:
        """Create (or find) the job, get it admitted, and wait for it if asked.

        Database trips of a POST with wait: one read (the project, and the key's latest job),
        the insert, and the read after the wait; the row is not read between the admission
        and the wait, since the read after the wait supersedes it."""
        # Stored at the precision customers see, so a createdAt copied from a response is
        # an exact bound for dateFrom/dateTo.
        now = self._clock.now()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if principal.mode == "live" and not self._live_writer:
            raise ProviderNotConfigured()
        if not is_id("proj", request.project_id):  # no such project can exist: no look-up
            raise NotFound("No such project.", details={"field": "projectId"})
        scope = (
            idempotency.scope(
                workspace_id=principal.workspace_id,
                mode=principal.mode,
                route=GENERATION_ROUTE,
                key=request.idempotency_key,
            )
            if request.idempotency_key is not None
            else None
        )
        project, latest = await jobs_repo.project_and_latest_for_scope(
            db=self._db, project_id=request.project_id, scope=scope
        )
        _check_project(principal, project)
        _check_schedule(request.scheduled_for, now)
        fingerprint = idempotency.fingerprint(request.canonical_body, request.api_version)
        legacy = (
            idempotency.fingerprint(request.legacy_canonical_body, request.api_version)
            if request.legacy_canonical_body is not None
            else None
        )
        job, replayed = await self._find_or_create(
            principal, request, (fingerprint, legacy), now, scope=scope, latest=latest
        )
        waiting = request.wait_for_completion_ms > 0
        read_back = True
        if job.status == JobStatus.QUEUED and not job.acknowledged:
            job, read_back = await self._admit(job, waiting=waiting)
        if waiting and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            await self._temporal.wait_for_completion(job.id, request.wait_for_completion_ms)
            job = await self._reload(job.id)
            if not read_back:
                _unless_refused(job)  # what the read after the admission would have said
        return Submitted(job=job, replayed=replayed)

    async def _find_or_create(
        self,
        principal: Principal,
        request: GenerationRequest,
        fingerprints: tuple[str, str | None],
        now: datetime,
        *,
        scope: str | None,
        latest: Job | None,
    ) -> tuple[Job, bool]:
        """``latest``: the newest job of the key's ``scope`` (None without a key)."""
        fingerprint = fingerprints[0]
        generation = 0
        if latest is not None:
            if idempotency.job_remembered(
                status=latest.status, created_at=latest.created_at, now=now
            ):
                return _replay(latest, fingerprints), True
            # Refused, or older than 24 h: the key starts a new job with a new id.
            generation = latest.idempotency_generation + 1
        job_id = idempotency.job_id(scope=scope, generation=generation) if scope else new_id("job")
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
        return _replay(await self._reload(job_id), fingerprints), True

    async def _admit(self, job: Job, *, waiting: bool) -> tuple[Job, bool]:
        """Admit the job: the row as the admission left it, and whether it was read.

        An admitted job the caller will wait for is not read here: the read after the wait
        supersedes it, so it comes back as it was (QUEUED), and the caller waits for it
        (at once if its workflow has closed already) and checks the refusal then."""
        workflow_input = PostGenerationInput.model_validate(job.workflow_input)
        result = await self._temporal.admit(workflow_input)
        if result.outcome == "refused":
            self._record_admission("refused")
            raise _spend_cap_exceeded(result.refusal)
        if result.outcome == "admitted" and waiting:
            self._record_admission(result.outcome)
            return job, False
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
        _unless_refused(job)
        self._record_admission(result.outcome)
        return job, True

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


def _check_project(principal: Principal, project: Project | None) -> None:
    if project is None or project.workspace_id != principal.workspace_id:
        raise NotFound("No such project.", details={"field": "projectId"})
    if project.status != "ACTIVE":
        raise Unprocessable(
            f"The project is {project.status.lower()}; only active projects take new jobs.",
            details={"field": "projectId", "projectStatus": project.status},
        )


def _check_schedule(scheduled_for: datetime | None, now: datetime) -> None:
    if scheduled_for is None:
        return
    if scheduled_for <= now:
        raise Unprocessable(
            "scheduledFor must be in the future.", details={"field": "scheduledFor"}
        )
    if scheduled_for > now + SCHEDULE_HORIZON:
        raise InvalidRequest(
            "scheduledFor: must be at most 2 years ahead",
            details={"field": "scheduledFor", "reason": "must be at most 2 years ahead"},
        )


def _unless_refused(job: Job) -> None:
    """402 for a job whose admission was refused (the row is REFUSED, hidden)."""
    if job.status == JobStatus.REFUSED:
        refusal = SpendRefusal.model_validate(job.refusal) if job.refusal else None
        raise _spend_cap_exceeded(refusal)


def _replay(job: Job, fingerprints: tuple[str, str | None]) -> Job:
    if not idempotency.is_replay(job.fingerprint, fingerprints):
        raise IdempotencyKeyConflict()
    return job


def _spend_cap_exceeded(refusal: SpendRefusal | None) -> SpendCapExceeded:
    meta: dict[str, object] | None = None
    message = (
        "The job's spend estimate does not fit in the workspace's daily AI spend cap; "
        "it resets at 00:00 UTC."
    )
    if refusal is not None:
        cap = nanos_to_cents(refusal.cap_nanos)
        spent = nanos_to_cents(refusal.spent_nanos)
        estimate = nanos_to_cents(refusal.estimate_nanos)
        meta = {
            "bucketDate": refusal.bucket_date.isoformat(),
            "capCents": cap,
            "spentCents": spent,
            "estimateCents": estimate,
        }
        reset = refusal.bucket_date + timedelta(days=1)
        left = max(0, refusal.cap_nanos - refusal.spent_nanos)
        # Say what did not fit: with 1 of 3 cents spent the cap is not "reached", the
        # job's estimate just does not fit in what is left.
        message = (
            f"The job's spend estimate of {_cents(estimate)} does not fit in the "
            f"workspace's daily AI spend cap of {_cents(cap)} for "
            f"{refusal.bucket_date.isoformat()} (UTC): {_cents(spent)} spent or "
            f"held by jobs in flight, {_cents(left // NANOS_PER_CENT)} left. The cap resets at "
            f"{reset.isoformat()}T00:00:00Z."
        )
    return SpendCapExceeded(message, meta=meta)


def _cents(amount: int) -> str:
    return f"{amount} cent" if amount == 1 else f"{amount} cents"
