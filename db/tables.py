"""ORM tables. API schemas live in ``api/schemas.py``; these are storage only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

Id = String(40)
BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(20))
    daily_cap_cents: Mapped[int | None] = mapped_column(BigInteger)  # operator override
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    mode: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(String(200))
    # HMAC-SHA-256 of the full key under the server secret; the key itself is never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    url: Mapped[str | None] = mapped_column(String(2000))
    language: Mapped[str] = mapped_column(String(35))
    tone_profile: Mapped[dict[str, Any]]
    voice_samples: Mapped[list[str]]
    pillars: Mapped[list[str]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class KbDocument(Base):
    __tablename__ = "kb_documents"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(2000))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class KbPassage(Base):
    __tablename__ = "kb_passages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(Id, index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class Job(Base):
    """The job registry and read model; the workflow writes each transition."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("idempotency_scope", "idempotency_generation"),
        Index("ix_jobs_listing", "workspace_id", "mode", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(Id)
    mode: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(30))
    project_id: Mapped[str] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(10))
    # Set when the API answered 202 QUEUED before admission finished: a refusal after that
    # fails the job visibly instead of hiding it (the customer already holds its id).
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_scope: Mapped[str | None] = mapped_column(String(64))
    idempotency_generation: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    workflow_input: Mapped[dict[str, Any]]
    run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    progress: Mapped[float | None] = mapped_column(Float)
    progress_message: Mapped[str | None] = mapped_column(String(200))
    post_id: Mapped[str | None] = mapped_column(Id)
    error_code: Mapped[str | None] = mapped_column(String(50))
    error_message: Mapped[str | None] = mapped_column(String(500))
    refusal: Mapped[dict[str, Any] | None]
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # Spend: the bucket this job is billed to, its reservation, what is still held, actuals.
    spend_day: Mapped[date | None] = mapped_column(Date)
    estimate_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_open_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    actual_nanos: Mapped[int] = mapped_column(BigInteger, default=0)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_listing", "workspace_id", "mode", "project_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(Id)
    mode: Mapped[str] = mapped_column(String(4))
    project_id: Mapped[str] = mapped_column(Id)
    # One post per job, whatever retries or resets do.
    job_id: Mapped[str | None] = mapped_column(Id, unique=True)
    status: Mapped[str] = mapped_column(String(30))
    platform: Mapped[str] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    scheduled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SpendBucket(Base):
    """One workspace's spend for one mode and one UTC day."""

    __tablename__ = "spend_buckets"

    workspace_id: Mapped[str] = mapped_column(Id, primary_key=True)
    mode: Mapped[str] = mapped_column(String(4), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reserved_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    spent_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]


class SpendEntry(Base):
    """An immutable ledger movement; ``key`` makes each one happen at most once."""

    __tablename__ = "spend_entries"
    __table_args__ = (Index("ix_spend_entries_bucket", "workspace_id", "mode", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    workspace_id: Mapped[str] = mapped_column(Id)
    mode: Mapped[str] = mapped_column(String(4))
    day: Mapped[date] = mapped_column(Date)
    job_id: Mapped[str] = mapped_column(Id, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # reserve | charge | release
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class WebhookEndpoint(Base):
    """Where a workspace (in one mode) wants its events sent, and the secret that signs
    them. The secret is stored because signing needs it; it is shown to the customer once."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_listing", "workspace_id", "mode", "created_at"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(Id)
    mode: Mapped[str] = mapped_column(String(4))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    events: Mapped[list[str]]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    # A create with an Idempotency-Key: its scope (cleared after 24 h) and body fingerprint.
    idempotency_scope: Mapped[str | None] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class WebhookEvent(Base):
    """One event as it is sent (the signed body), once per (job, type)."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(Id)
    mode: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(40))
    job_id: Mapped[str] = mapped_column(Id, index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event for one endpoint: PENDING until a 2xx (DELIVERED) or it gives up (FAILED)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_webhook_deliveries_listing", "endpoint_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    workspace_id: Mapped[str] = mapped_column(Id)
    mode: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(10))
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery; written when it starts, completed when it ends (an
    attempt without an end was cut short, e.g. by a worker that stopped)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
