"""Public request and response shapes (camelCase resources, snake_case envelope fields)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Strict,
    StrictBool,
    StrictInt,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from contracts import JOB_ERROR_MESSAGES, PUBLIC_JOB_STATUSES, JobType
from domain.linkedin import LINKEDIN_MAX_CHARS
from domain.text_rules import check_language_tag, check_plain_text, check_source_url
from services.errors import ALL_ERRORS

WAIT_MAX_MS = 25_000
TEXT_MAX_CHARS = 20_000


def _rfc3339_ms(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_rfc3339_ms, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
PlainText = Annotated[str, AfterValidator(check_plain_text)]

# The earliest instant any date input may name; later bounds depend on the field.
EARLIEST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
# Ids are looked up, not pattern-matched: an id of an unknown shape is simply not found
# (404), like one of the right shape that does not exist. The bound only keeps junk short.
ID_MAX_CHARS = 100


def check_instant(value: datetime) -> datetime:
    """An aware date-time that names a real UTC instant from 2000 on (a far-future value
    with a negative offset, 9999-12-31T23:59:59-01:00, has no UTC form: refused here,
    not when it is stored)."""
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if in_utc < EARLIEST_INSTANT:
        raise ValueError("must not be before 2000-01-01T00:00:00Z")
    return value


def has_content(value: str) -> str:
    """A source must carry words: "\u200b", "!!! ???" or "🚀🚀🚀" has nothing to write about,
    and is refused before anything is reserved or billed."""
    if not any(ch.isalnum() for ch in value):
        raise ValueError("must contain words (letters or digits)")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- POST /v1/posts/generations ---------------------------------------------------------------


class TextSource(_In):
    text: Annotated[PlainText, Field(min_length=1, max_length=TEXT_MAX_CHARS)]

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain some text")
        return has_content(value)


class UrlSource(_In):
    url: Annotated[str, Field(examples=["https://example.com/blog/retention"])]

    @field_validator("url")
    @classmethod
    def _https_url(cls, value: str, info: ValidationInfo) -> str:
        allow_http = bool(info.context and info.context.get("allow_http"))
        return check_source_url(value, allow_http=allow_http)


class GenerationOptionsIn(_In):
    language: Annotated[
        str | None, AfterValidator(lambda v: v if v is None else check_language_tag(v))
    ] = Field(default=None, description="BCP 47 tag; default: the project's language.")
    maxLength: Annotated[StrictInt | None, Field(ge=50, le=LINKEDIN_MAX_CHARS)] = None
    tone: Annotated[PlainText | None, Field(max_length=200)] = None
    includeHashtags: StrictBool | None = None


def _source_variant(value: Any) -> str:
    """Pick the variant by its key, so errors name the field that is wrong."""
    if isinstance(value, dict) and "url" in value and "text" not in value:
        return "url"
    return "text"


Source = Annotated[
    Annotated[TextSource, Tag("text")] | Annotated[UrlSource, Tag("url")],
    Discriminator(_source_variant),
]


class GenerationCreate(_In):
    projectId: Annotated[
        str,
        Field(
            min_length=1,
            max_length=ID_MAX_CHARS,
            description="The project (`proj_…`); an unknown id is 404 `not_found`.",
            examples=["proj_4kq2m7xq3ftz5yqv2d6w7hkzba"],
        ),
    ]
    source: Source = Field(
        description='Exactly one of {"text": "…"} (1–20,000 characters) or {"url": "https://…"}.'
    )
    scheduledFor: Annotated[AwareDatetime, Strict(), AfterValidator(check_instant)] | None = Field(
        default=None,
        description=(
            "RFC 3339 date-time with an offset, in the future and at most 2 years ahead: "
            "the post is scheduled."
        ),
    )
    options: GenerationOptionsIn | None = None
    wait_for_completion_ms: Annotated[StrictInt, Field(ge=0)] = Field(
        default=0,
        description="Wait up to this long for the result; values over 25,000 count as 25,000.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "projectId": "proj_4kq2m7xq3ftz5yqv2d6w7hkzba",
                    "source": {"text": "We cut churn by a third by calling every new customer."},
                    "options": {"language": "en", "includeHashtags": True},
                    "wait_for_completion_ms": 10000,
                }
            ]
        },
    )

    @property
    def wait_ms(self) -> int:
        return min(self.wait_for_completion_ms, WAIT_MAX_MS)


# --- jobs ---------------------------------------------------------------------------------------


class JobProgress(BaseModel):
    progress: float = Field(ge=0, le=1)
    message: str
    updatedAt: Timestamp


class JobResult(BaseModel):
    postId: str


class JobCost(BaseModel):
    estimateCents: int = Field(description="The amount reserved at admission, in cents.")
    actualCents: int = Field(
        description="What the job was billed, rounded up to whole cents (0.006¢ → 1¢)."
    )
    actualUsd: str = Field(
        pattern=r"^[0-9]+(\.[0-9]{1,9})?$",
        description="What the job was billed, exactly, as a decimal string in US dollars "
        '(the ledger counts nanodollars): "0.000058".',
        examples=["0.000058"],
    )


JobStatusName = Literal[tuple(s.value for s in PUBLIC_JOB_STATUSES)]  # type: ignore[valid-type]


class JobPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "job_3ejubxaxdsofanaoydbgexdeh7",
                    "type": "POST_GENERATION",
                    "status": "DONE",
                    "projectId": "proj_4kq2m7xq3ftz5yqv2d6w7hkzba",
                    "createdAt": "2026-11-29T10:00:00.000Z",
                    "updatedAt": "2026-11-29T10:00:01.912Z",
                    "startedAt": "2026-11-29T10:00:00.041Z",
                    "completedAt": "2026-11-29T10:00:01.912Z",
                    "progress": None,
                    "result": {"postId": "post_q6m3xw5d2hbk4y7tnv2zcefa3a"},
                    "errorCode": None,
                    "errorMessage": None,
                    "attemptCount": 1,
                    "estimatedCompletionMs": None,
                    "cost": {"estimateCents": 5, "actualCents": 1, "actualUsd": "0.000058"},
                }
            ]
        }
    )

    id: str
    type: JobType
    status: JobStatusName  # type: ignore[valid-type]
    projectId: str
    createdAt: Timestamp
    updatedAt: Timestamp
    startedAt: Timestamp | None
    completedAt: Timestamp | None
    progress: JobProgress | None
    result: JobResult | None
    # A plain string at run time (a code added by a newer worker must never turn a read into
    # a 500), an enum in the document: every code is registered in contracts.py.
    errorCode: Annotated[
        str | None,
        WithJsonSchema(
            {"anyOf": [{"type": "string", "enum": list(JOB_ERROR_MESSAGES)}, {"type": "null"}]}
        ),
    ] = Field(description="Why a FAILED job failed; see /docs/errors#job-error-codes.")
    errorMessage: str | None
    attemptCount: int = Field(
        description="Writing attempts started; 0 for a job that failed or was cancelled "
        "before it wrote anything (e.g. spend_cap_exceeded after a 202)."
    )
    estimatedCompletionMs: int | None = Field(
        description="For QUEUED and RUNNING jobs: the median duration of recent jobs minus "
        "the time this one has taken; null when unknown or already exceeded."
    )
    cost: JobCost


T = TypeVar("T")


class DataEnvelope(BaseModel, Generic[T]):
    data: T


class Pagination(BaseModel):
    next_cursor: str | None
    has_more: bool


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    pagination: Pagination


# --- posts, projects, workspace, health ----------------------------------------------------------


PostStatus = Literal["waitingProcessing", "draft", "scheduled", "published", "failed"]


class PostPublic(_Out):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "post_q6m3xw5d2hbk4y7tnv2zcefa3a",
                    "projectId": "proj_4kq2m7xq3ftz5yqv2d6w7hkzba",
                    "jobId": "job_3ejubxaxdsofanaoydbgexdeh7",
                    "status": "draft",
                    "platform": "LINKEDIN",
                    "contentType": "TEXT",
                    "title": "One 30-minute call cut our churn by 38%.",
                    "content": "One 30-minute call cut our churn by 38%.\n\n…",
                    "language": "en",
                    "scheduledAt": None,
                    "createdAt": "2026-11-29T10:00:01.900Z",
                    "updatedAt": "2026-11-29T10:00:01.900Z",
                }
            ]
        },
    )

    id: str
    projectId: str
    jobId: str | None
    status: PostStatus
    platform: Literal["LINKEDIN"]
    contentType: Literal["TEXT"]
    title: str
    content: str
    language: str
    scheduledAt: Timestamp | None
    createdAt: Timestamp
    updatedAt: Timestamp


class ProjectPublic(_Out):
    id: str
    name: str
    type: Literal["PERSONAL_BRAND", "COMPANY_PAGE"]
    status: Literal["ACTIVE", "PAUSED", "ARCHIVED"]
    url: str | None
    createdAt: Timestamp


class WorkspaceInfo(BaseModel):
    id: str
    name: str
    plan: str


class PrincipalInfo(BaseModel):
    type: Literal["api_key"] = "api_key"
    id: str
    mode: Literal["live", "test"]


class WorkspaceMe(BaseModel):
    workspace: WorkspaceInfo
    principal: PrincipalInfo


class HealthChecks(BaseModel):
    db: Literal["ok", "unavailable"]
    temporal: Literal["ok", "unavailable"]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    checks: HealthChecks


# --- errors -------------------------------------------------------------------------------------


ErrorCode = Literal[tuple(e.code for e in ALL_ERRORS)]  # type: ignore[valid-type]


class ErrorBody(BaseModel):
    code: ErrorCode  # type: ignore[valid-type]
    message: str
    request_id: str
    docs_url: str
    details: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class ErrorEnvelope(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "spend_cap_exceeded",
                        "message": "The job's spend estimate of 5 cents does not fit in the "
                        "workspace's daily AI spend cap of 500 cents for 2026-11-29 (UTC): "
                        "498 cents spent or held by jobs in flight, 2 cents left. The cap "
                        "resets at 2026-11-30T00:00:00Z.",
                        "request_id": "req_7w2qk3m5xz4n6b8c2d4f6h8j2k",
                        "docs_url": "https://api.scripe.example/docs/errors#spend_cap_exceeded",
                        "meta": {
                            "bucketDate": "2026-11-29",
                            "capCents": 500,
                            "spentCents": 498,
                            "estimateCents": 5,
                        },
                    }
                }
            ]
        }
    )

    error: ErrorBody
