"""The wire contract between the API, the workflow and the activities.

Every workflow, update and activity takes exactly one pydantic model and returns one, so
fields can be added without breaking running workflows. Failure types (``ApplicationError``
``type``) double as the job's public ``errorCode``. This module is imported by the
workflow sandbox: pure data only.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

# The job's statuses and error codes live in ``domain.job_lifecycle`` (the one home of the
# job's rules); they are re-exported here because they are part of the wire.
from domain.job_lifecycle import (
    GENERATION_FAILED as GENERATION_FAILED,
)
from domain.job_lifecycle import (
    JOB_ALREADY_FINISHED as JOB_ALREADY_FINISHED,
)
from domain.job_lifecycle import (
    JOB_ERRORS as JOB_ERRORS,
)
from domain.job_lifecycle import (
    JOB_TERMINATED as JOB_TERMINATED,
)
from domain.job_lifecycle import (
    JOB_TIMED_OUT as JOB_TIMED_OUT,
)
from domain.job_lifecycle import (
    PROJECT_UNAVAILABLE as PROJECT_UNAVAILABLE,
)
from domain.job_lifecycle import (
    PROVIDER_NOT_CONFIGURED as PROVIDER_NOT_CONFIGURED,
)
from domain.job_lifecycle import (
    PROVIDER_REJECTED as PROVIDER_REJECTED,
)
from domain.job_lifecycle import (
    PROVIDER_UNAVAILABLE as PROVIDER_UNAVAILABLE,
)
from domain.job_lifecycle import (
    PUBLIC_JOB_STATUSES as PUBLIC_JOB_STATUSES,
)
from domain.job_lifecycle import (
    SOURCE_EMPTY as SOURCE_EMPTY,
)
from domain.job_lifecycle import (
    SOURCE_NOT_ALLOWED as SOURCE_NOT_ALLOWED,
)
from domain.job_lifecycle import (
    SOURCE_UNREACHABLE as SOURCE_UNREACHABLE,
)
from domain.job_lifecycle import (
    SPEND_CAP_EXCEEDED as SPEND_CAP_EXCEEDED,
)
from domain.job_lifecycle import (
    STORAGE_REJECTED as STORAGE_REJECTED,
)
from domain.job_lifecycle import (
    TERMINAL_JOB_STATUSES as TERMINAL_JOB_STATUSES,
)
from domain.job_lifecycle import (
    JobStatus as JobStatus,
)

TASK_QUEUE: Final = "scripe-post-generation"
# The job workflow and its admission update, by the names Temporal knows them by: the API
# starts and admits by name, so it never imports the workflow module (nor, through it, the
# activities and their HTTP client: ~5 MB of the API's memory).
JOB_WORKFLOW_TYPE: Final = "PostGenerationWorkflow"
ADMIT_UPDATE: Final = "admit"
ADMIT_UPDATE_ID: Final = "admit"
GENERATION_ROUTE: Final = "POST /v1/posts/generations"


class JobMode(StrEnum):
    LIVE = "live"
    TEST = "test"


class JobType(StrEnum):
    POST_GENERATION = "POST_GENERATION"
    KB_INGEST_TEXT = "KB_INGEST_TEXT"
    KB_INGEST_FILE = "KB_INGEST_FILE"
    KB_INGEST_URL = "KB_INGEST_URL"
    KB_INGEST_YOUTUBE = "KB_INGEST_YOUTUBE"
    SOURCE_INGEST_FILE = "SOURCE_INGEST_FILE"


# Each documented job error code and the message a customer sees for it.
JOB_ERROR_MESSAGES: Final[dict[str, str]] = {e.code: e.message for e in JOB_ERRORS}
# The codes Temporal does not retry (the activities' ``non_retryable_error_types``).
NON_RETRYABLE_ERROR_TYPES: Final = tuple(e.code for e in JOB_ERRORS if not e.retryable)


# --- search attributes (registered on the server before any workflow upserts them) --------

SA_WORKSPACE_ID: Final = SearchAttributeKey.for_keyword("WorkspaceId")
SA_PROJECT_ID: Final = SearchAttributeKey.for_keyword("ProjectId")
SA_JOB_STATUS: Final = SearchAttributeKey.for_keyword("JobStatus")
SA_JOB_MODE: Final = SearchAttributeKey.for_keyword("JobMode")
# Webhook delivery workflows: find them by workspace, endpoint, event and status.
SA_WEBHOOK_ENDPOINT_ID: Final = SearchAttributeKey.for_keyword("WebhookEndpointId")
SA_WEBHOOK_EVENT_TYPE: Final = SearchAttributeKey.for_keyword("WebhookEventType")
SA_WEBHOOK_EVENT_ID: Final = SearchAttributeKey.for_keyword("WebhookEventId")
SA_WEBHOOK_DELIVERY_STATUS: Final = SearchAttributeKey.for_keyword("WebhookDeliveryStatus")
SEARCH_ATTRIBUTES: Final = (
    SA_WORKSPACE_ID,
    SA_PROJECT_ID,
    SA_JOB_STATUS,
    SA_JOB_MODE,
    SA_WEBHOOK_ENDPOINT_ID,
    SA_WEBHOOK_EVENT_TYPE,
    SA_WEBHOOK_EVENT_ID,
    SA_WEBHOOK_DELIVERY_STATUS,
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- workflow input -------------------------------------------------------------------------


class SourceSpec(_Model):
    text: str | None = None
    url: str | None = None


class GenerationOptions(_Model):
    language: str | None = None
    max_length: int | None = None
    tone: str | None = None
    include_hashtags: bool | None = None


class PostGenerationInput(_Model):
    job_id: str
    workspace_id: str
    mode: JobMode
    project_id: str
    source: SourceSpec
    options: GenerationOptions = GenerationOptions()
    scheduled_for: datetime | None = None
    estimate_nanos: int


class AdmitRequest(_Model):
    """Sent by the API with the start; carries nothing the workflow input lacks (yet)."""


class SpendRefusal(_Model):
    bucket_date: date
    cap_nanos: int
    spent_nanos: int
    estimate_nanos: int


class Admission(_Model):
    # ``finished``: the job row is DONE with its post already (an operator reset of a DONE
    # job); the workflow ends DONE with ``post_id`` and never calls the writer.
    outcome: Literal["accepted", "refused", "cancelled", "finished"]
    # The status the job row holds after admission (REFUSED, or FAILED when the API had
    # already answered 202 for the job).
    job_status: JobStatus
    refusal: SpendRefusal | None = None
    post_id: str | None = None


class FinishedJob(_Model):
    """details[0] of a ``job_already_finished`` failure: how the row already ended."""

    status: JobStatus
    post_id: str | None = None
    error_code: str | None = None  # optional: the row's errorCode when it FAILED


class JobOutcome(_Model):
    """The workflow result: what the job ended as."""

    status: JobStatus
    post_id: str | None = None
    error_code: str | None = None


# --- activity I/O ---------------------------------------------------------------------------


class ReserveSpendInput(_Model):
    job_id: str
    run_id: str
    workspace_id: str
    mode: JobMode
    estimate_nanos: int
    bucket_date: date


class KnowledgePassage(_Model):
    document_title: str
    text: str


class ProjectContext(_Model):
    project_id: str
    name: str
    project_type: str
    language: str
    tone_profile: dict[str, object] = Field(default_factory=dict)
    voice_samples: list[str] = Field(default_factory=list)
    pillars: list[str] = Field(default_factory=list)
    passages: list[KnowledgePassage] = Field(default_factory=list)


class FetchSourceInput(_Model):
    job_id: str
    url: str


class FetchedSource(_Model):
    url: str
    title: str | None = None
    text: str


class GeneratePostInput(_Model):
    job_id: str
    workspace_id: str
    mode: JobMode
    project_id: str
    source_text: str
    options: GenerationOptions
    # True: the activity also stores the post (scheduled at ``scheduled_for``, or a draft)
    # and settles the job DONE, in its charge's transaction (``GeneratedPost.post_id``).
    # False (an input scheduled before this field existed): ``complete_job`` does that.
    store_post: bool = False
    scheduled_for: datetime | None = None


class TokenUsage(_Model):
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


class GeneratedPost(_Model):
    title: str
    content: str
    language: str
    model: str
    writer: Literal["openai", "offline"]
    usage: TokenUsage
    cost_nanos: int
    # Set when the activity stored the post and settled the job DONE (``store_post``);
    # None when it did not (an older input, or a result recorded before this field): the
    # workflow then runs ``complete_job``. The branch is taken from the recorded result,
    # so a replay takes the same one.
    post_id: str | None = None
    webhook_subscribers: bool = True  # as in CompletedJob, when ``post_id`` is set


class CompleteJobInput(_Model):
    """The written post, to store and settle the job DONE with, in one transaction."""

    job_id: str
    workspace_id: str
    mode: JobMode
    project_id: str
    title: str
    content: str
    language: str
    scheduled_for: datetime | None = None


class CompletedJob(_Model):
    post_id: str
    estimate_nanos: int
    actual_nanos: int
    # Whether an enabled webhook endpoint wants the job's events (read in the same
    # transaction); a result recorded before this field existed means "ask the child".
    webhook_subscribers: bool = True


class SettleJobInput(_Model):
    """A job that ends without a post: FAILED (with its code) or CANCELLED."""

    job_id: str
    status: Literal[JobStatus.FAILED, JobStatus.CANCELLED]
    error_code: str | None = None
    error_message: str | None = None


class SettledJob(_Model):
    estimate_nanos: int
    actual_nanos: int
    webhook_subscribers: bool = True  # as in CompletedJob


# --- the reconciler (settles jobs whose workflow closed without settling them) --------------


class ReconcileInput(_Model):
    """One pass over the jobs that are not final; at most ``limit`` of them."""

    limit: int = 500


class ReconciledJob(_Model):
    job_id: str
    workflow_status: str  # Temporal's: TERMINATED, TIMED_OUT, CANCELED, FAILED, NOT_FOUND
    status: JobStatus  # what the job was settled as
    error_code: str | None = None


class ReconcileResult(_Model):
    checked: int
    settled: list[ReconciledJob] = Field(default_factory=list)


# --- webhooks: events emitted by jobs and their signed deliveries -------------------------


def webhook_task_queue(job_task_queue: str) -> str:
    """Deliveries get their own queue (and worker slots): a slow endpoint never holds a
    slot a job's activity could use."""
    return f"{job_task_queue}-webhooks"


def job_events_workflow_id(job_id: str) -> str:
    return f"webhook-events-{job_id}"


def delivery_workflow_id(delivery_id: str) -> str:
    return f"webhook-delivery-{delivery_id}"


class JobEventsInput(_Model):
    """The finished job whose events (``job.completed``/``job.failed``, ``post.created``)
    are to be recorded and delivered."""

    job_id: str
    workspace_id: str
    mode: JobMode


class DeliveryStart(_Model):
    delivery_id: str
    event_id: str
    event_type: str
    endpoint_id: str
    workspace_id: str
    mode: JobMode
    # The longest wait between attempts (SCRIPE_WEBHOOK_MAX_BACKOFF_SECONDS when the
    # delivery was recorded); None, as in inputs from before the setting: the default 6 h.
    max_backoff_seconds: float | None = None


class EmittedEvents(_Model):
    """Deliveries recorded for the job's events and not yet finished (to be started)."""

    event_ids: list[str] = Field(default_factory=list)
    deliveries: list[DeliveryStart] = Field(default_factory=list)


class DeliveryAttemptInput(_Model):
    delivery_id: str


class DeliveryAttemptResult(_Model):
    # delivered: 2xx; retry: try again later; gone: 410 (endpoint disabled);
    # skipped: the endpoint is disabled or deleted, or the delivery already finished.
    outcome: Literal["delivered", "retry", "gone", "skipped"]
    attempt: int = 0
    status_code: int | None = None
    error: str | None = None


class DeliveryGiveUpInput(_Model):
    delivery_id: str
    reason: str
    # The endpoint is disabled too when it had no successful delivery since this time.
    failing_since: datetime


def delivery_search_attributes(start: DeliveryStart) -> TypedSearchAttributes:
    """What a delivery workflow is found by in the Web UI (its status is kept current)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(SA_WORKSPACE_ID, start.workspace_id),
            SearchAttributePair(SA_JOB_MODE, start.mode.value),
            SearchAttributePair(SA_WEBHOOK_ENDPOINT_ID, start.endpoint_id),
            SearchAttributePair(SA_WEBHOOK_EVENT_TYPE, start.event_type),
            SearchAttributePair(SA_WEBHOOK_EVENT_ID, start.event_id),
            SearchAttributePair(SA_WEBHOOK_DELIVERY_STATUS, "PENDING"),
        ]
    )
