"""The job's life, as data: statuses, the moves between them, the stages a running job
shows, who may see it, and every error code it can end with.

One home for these rules so the database layer, the workflow, the API and the operator
view apply the same ones: ``db/repo/jobs.py`` and ``db/repo/ledger.py`` apply its guards
(which moves are allowed), its stages and its visibility rule; ``contracts`` re-exports the
statuses and derives ``JOB_ERROR_MESSAGES``/``NON_RETRYABLE_ERROR_TYPES`` from
:data:`JOB_ERRORS`; ``workflows/operator_view.py`` reads ``retry_can_fix`` from it.

Pure data and functions (no I/O, no imports of the project): the workflow sandbox imports
it through ``contracts``. Changing a value here changes what running workflows write, so
follow docs/versioning.md for anything a workflow reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    # Internal: admission refused while the caller was still waiting (HTTP 402).
    # Never shown to customers; the idempotency key may be used again.
    REFUSED = "REFUSED"


PUBLIC_JOB_STATUSES: Final = tuple(s for s in JobStatus if s is not JobStatus.REFUSED)
TERMINAL_JOB_STATUSES: Final = frozenset(
    {JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REFUSED}
)
# Not final: a workflow still owes these a settlement.
OPEN_JOB_STATUSES: Final = (JobStatus.QUEUED, JobStatus.RUNNING)
# Final without a post: a job in one of these never becomes DONE.
ENDED_WITHOUT_POST: Final = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REFUSED)

# The guards the data layer applies, one per operation on a job row; the moves they allow
# together are ALLOWED_TRANSITIONS below (derived, so it cannot drift from them).
CANCELLABLE_STATUSES: Final = (JobStatus.QUEUED,)  # the customer's cancel of a QUEUED job


def admission_of(status: JobStatus | str | None, *, has_post: bool) -> str:
    """What reserving a job's spend does with its row: ``cancelled`` (no row, or the
    customer cancelled it), ``finished`` (DONE with its post: an operator reset of a
    finished job; nothing is written), else ``admit`` (RUNNING, or refused: FAILED or
    REFUSED)."""
    if status is None or status == JobStatus.CANCELLED:
        return "cancelled"
    if status == JobStatus.DONE and has_post:
        return "finished"
    return "admit"


def may_start_attempt(status: JobStatus | str) -> bool:
    """A writing attempt runs only on a job that is not final (QUEUED or RUNNING)."""
    return JobStatus(status) in OPEN_JOB_STATUSES


def settlement_conflicts(*, current: JobStatus | str, has_post: bool, target: JobStatus) -> bool:
    """A late or superseded run must not overturn an outcome: a job DONE with its post is
    never turned FAILED or CANCELLED, and one that ended without a post is never DONE."""
    status = JobStatus(current)
    done_already = status == JobStatus.DONE and has_post
    if done_already:
        return target != JobStatus.DONE
    return status in ENDED_WITHOUT_POST and target == JobStatus.DONE


def _moves_from(status: JobStatus) -> frozenset[JobStatus]:
    """Every status a row in ``status`` can be given by some operation (a DONE row holds
    its post: both are written in one transaction)."""
    has_post = status == JobStatus.DONE
    moves: set[JobStatus] = set()
    if admission_of(status, has_post=has_post) == "admit":
        moves |= {JobStatus.RUNNING, JobStatus.FAILED, JobStatus.REFUSED}
    if status in CANCELLABLE_STATUSES:
        moves.add(JobStatus.CANCELLED)
    if may_start_attempt(status):
        moves.add(JobStatus.RUNNING)
    for target in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED):
        if not settlement_conflicts(current=status, has_post=has_post, target=target):
            moves.add(target)
    if status in OPEN_JOB_STATUSES:  # the reconciler settles what a workflow left open
        moves |= {JobStatus.FAILED, JobStatus.CANCELLED}
    moves.discard(status)
    return frozenset(moves)


# Every move a job row may make; staying put (a retried step) is always allowed.
ALLOWED_TRANSITIONS: Final[dict[JobStatus, frozenset[JobStatus]]] = {
    status: _moves_from(status) for status in JobStatus
}


def can_transition(current: JobStatus | str, target: JobStatus | str) -> bool:
    """Whether a job in ``current`` may move to ``target`` (staying put is allowed)."""
    current, target = JobStatus(current), JobStatus(target)
    return current == target or target in ALLOWED_TRANSITIONS[current]


# --- stages: what GET /v1/jobs/{id} shows as ``progress`` while the job is RUNNING ----------


@dataclass(frozen=True)
class Stage:
    progress: float  # 0..1, only ever grows during one attempt
    message: str  # the customer's ``progress.message``
    # What the operator's Web UI shows as the job's current stage (the workflow's memo and
    # current details); the customer's message unless the workflow says more.
    operator_text: str = ""

    @property
    def operator_stage(self) -> str:
        return self.operator_text or self.message


ADMITTED: Final = Stage(0.1, "Loading the project's voice and knowledge")
READING_SOURCE: Final = Stage(0.2, "Reading the source URL")
WRITING: Final = Stage(0.4, "Writing the post", "Writing the post in the project's voice")
STAGES: Final = (ADMITTED, READING_SOURCE, WRITING)


def writing_message(attempt: int) -> str:
    """The writing stage's message; later attempts say which one they are."""
    return WRITING.message + (f" (attempt {attempt})" if attempt > 1 else "")


# --- visibility ---------------------------------------------------------------------------

# A refused admission never shows (the caller got 402 and may use the key again) ...
HIDDEN_STATUSES: Final = (JobStatus.REFUSED,)
# ... and a QUEUED job shows only once the API has answered 202 for it.
SHOWN_ONCE_ACKNOWLEDGED: Final = (JobStatus.QUEUED,)


def is_visible(status: JobStatus | str, acknowledged: bool) -> bool:
    """Whether customers see a job (``db/repo/jobs.py`` builds its SQL from the same
    two tuples)."""
    return status not in HIDDEN_STATUSES and (
        status not in SHOWN_ONCE_ACKNOWLEDGED or bool(acknowledged)
    )


# --- error codes: ApplicationError.type inside Temporal, Job.errorCode outside --------------

SPEND_CAP_EXCEEDED: Final = "spend_cap_exceeded"
PROVIDER_REJECTED: Final = "provider_rejected"
PROVIDER_UNAVAILABLE: Final = "provider_unavailable"
GENERATION_FAILED: Final = "generation_failed"
SOURCE_UNREACHABLE: Final = "source_unreachable"
SOURCE_NOT_ALLOWED: Final = "source_not_allowed"
SOURCE_EMPTY: Final = "source_empty"
PROJECT_UNAVAILABLE: Final = "project_unavailable"
STORAGE_REJECTED: Final = "storage_rejected"
JOB_TERMINATED: Final = "job_terminated"
JOB_TIMED_OUT: Final = "job_timed_out"
# A live job reached a worker that has no AI provider configured (the API refuses such a
# job at admission with 503; this is the worker's side, e.g. a worker started without the
# key): a live key never gets an offline post. The activity raises it non-retryable itself;
# it stays out of ``non_retryable_error_types`` so the workflow's commands are unchanged.
PROVIDER_NOT_CONFIGURED: Final = "provider_not_configured"
# Internal, never a public errorCode: an activity found the job row already finished (DONE
# with its post, FAILED or CANCELLED) or owned by another run; details[0] is a
# ``FinishedJob``. The workflow then ends with that outcome without touching the row.
JOB_ALREADY_FINISHED: Final = "job_already_finished"


@dataclass(frozen=True)
class JobErrorCode:
    code: str
    message: str  # what the customer reads as ``errorMessage``
    # Whether Temporal retries the failing step: False puts the code in the activities'
    # ``non_retryable_error_types``.
    retryable: bool
    # Whether an operator's retry (a reset to the first workflow task) can help, with what
    # to do first ("" = nothing); None: it fails the same way until the request changes.
    retry_can_fix: str | None


JOB_ERRORS: Final[tuple[JobErrorCode, ...]] = (
    JobErrorCode(
        SPEND_CAP_EXCEEDED,
        # Said of an admission refused after a 202 and of a call refused mid-job alike.
        "The workspace's daily AI spend cap was reached: the job's AI call did not fit under it.",
        retryable=True,
        retry_can_fix=" Once the cap has room: raise it, or wait for 00:00 UTC.",
    ),
    JobErrorCode(
        PROVIDER_REJECTED,
        "The AI provider rejected the request.",
        retryable=False,
        # A refusal may not repeat (answers vary); a 400 will.
        retry_can_fix=" A refusal may not repeat; a request the provider rejects (400) will.",
    ),
    JobErrorCode(
        PROVIDER_UNAVAILABLE,
        "The AI provider did not answer after several attempts.",
        retryable=True,
        retry_can_fix="",
    ),
    JobErrorCode(
        GENERATION_FAILED, "The post could not be generated.", retryable=True, retry_can_fix=""
    ),
    JobErrorCode(
        SOURCE_UNREACHABLE,
        "The source URL could not be fetched.",
        retryable=True,
        retry_can_fix="",
    ),
    JobErrorCode(
        SOURCE_NOT_ALLOWED,
        "The source URL points to an address that is not allowed.",
        retryable=False,
        retry_can_fix=None,
    ),
    JobErrorCode(
        SOURCE_EMPTY, "The source URL has no readable text.", retryable=False, retry_can_fix=None
    ),
    JobErrorCode(
        PROJECT_UNAVAILABLE,
        "The project is archived, paused or no longer exists.",
        retryable=False,
        retry_can_fix=" Once the project is active again.",
    ),
    JobErrorCode(
        STORAGE_REJECTED,
        "The job's result could not be stored.",
        retryable=True,
        retry_can_fix=None,
    ),
    JobErrorCode(
        JOB_TERMINATED,
        "The job was stopped by an operator or by the job engine.",
        retryable=True,
        retry_can_fix="",
    ),
    JobErrorCode(
        JOB_TIMED_OUT,
        "The job did not finish in the time allowed.",
        retryable=True,
        retry_can_fix="",
    ),
    JobErrorCode(
        PROVIDER_NOT_CONFIGURED,
        "No AI provider is configured for live jobs on this server.",
        retryable=True,
        retry_can_fix=" Once the worker has SCRIPE_OPENAI_API_KEY.",
    ),
)
JOB_ERRORS_BY_CODE: Final = {entry.code: entry for entry in JOB_ERRORS}


def customer_message(code: str) -> str:
    """The documented message for ``code`` (KeyError for an undocumented code)."""
    return JOB_ERRORS_BY_CODE[code].message
