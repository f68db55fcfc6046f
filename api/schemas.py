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
    field_validator,
)

from contracts import PUBLIC_JOB_STATUSES, JobType
from domain.linkedin import LINKEDIN_MAX_CHARS
from domain.text_rules import check_language_tag, check_plain_text, check_source_url

WAIT_MAX_MS = 25_000
TEXT_MAX_CHARS = 20_000


def _rfc3339_ms(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(_rfc3339_ms, return_type=str)]
PlainText = Annotated[str, AfterValidator(check_plain_text)]


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
        return value


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
    projectId: Annotated[str, Field(pattern=r"^proj_[a-z2-7]{26}$")]
    source: Source = Field(
        description='Exactly one of {"text": "…"} (1–20,000 characters) or {"url": "https://…"}.'
    )
    scheduledFor: Annotated[AwareDatetime, Strict()] | None = Field(
        default=None, description="RFC 3339 date-time in the future: the post is scheduled."
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
    estimateCents: int
    actualCents: int


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
                    "cost": {"estimateCents": 5, "actualCents": 1},
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
    errorCode: str | None
    errorMessage: str | None
    attemptCount: int
    estimatedCompletionMs: int | None
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
    status: str
    platform: str
    contentType: str
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


class ErrorBody(BaseModel):
    code: str
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
                        "message": "The workspace's daily AI spend cap of 500 cents for "
                        "2026-11-29 (UTC) has been reached; it resets at 2026-11-30T00:00:00Z.",
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
