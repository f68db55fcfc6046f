"""Typed configuration, read once from the environment (prefix ``SCRIPE_``) and passed down.

Every process (API, worker, CLI) calls :func:`get_settings` once at start and hands the
object to what it builds. Nothing else reads the environment.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import TASK_QUEUE
from domain.money import cents_to_nanos
from domain.pricing import DEFAULT_PRICES, ModelPrice


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCRIPE_", extra="ignore", env_file=None)

    # --- where state lives -------------------------------------------------------------
    data_dir: Path = Path("data")
    database_url: str = ""
    secret_key: SecretStr | None = None

    # --- Temporal ----------------------------------------------------------------------
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = TASK_QUEUE
    temporal_api_key: SecretStr | None = None
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_ui_url: str = "http://127.0.0.1:8233"

    # --- HTTP API ----------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = ""
    admission_timeout_ms: PositiveInt = 5000
    rate_limit_per_minute: PositiveInt = 120
    redis_url: str | None = None
    key_cache_seconds: float = Field(default=2.0, ge=0, le=5)

    # --- LLM -----------------------------------------------------------------------------
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    llm_max_output_tokens: PositiveInt = 1200
    llm_prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))

    # --- spend ---------------------------------------------------------------------------
    spend_estimate_cents: Decimal = Field(default=Decimal(5), gt=0)

    # --- URL sources ---------------------------------------------------------------------
    url_fetch_allow_private: bool = False
    url_fetch_max_bytes: PositiveInt = 2_000_000
    url_fetch_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # --- webhooks ------------------------------------------------------------------------
    # Plain http and private/loopback destinations, for tests and local development only;
    # unset, it follows SCRIPE_URL_FETCH_ALLOW_PRIVATE.
    webhook_allow_private: bool | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=30)  # one attempt
    webhook_max_concurrent_deliveries: PositiveInt = 50
    # Longest wait between two attempts (the backoff doubles from 5 s up to this); lowered
    # only so chaos runs finish in bounded time. Read by the activity that records the
    # deliveries and passed to each delivery workflow in its input.
    webhook_max_backoff_seconds: float = Field(default=21_600.0, gt=0, le=21_600)

    # --- worker --------------------------------------------------------------------------
    worker_max_concurrent_activities: PositiveInt = 100
    worker_max_concurrent_workflow_tasks: PositiveInt = 100
    worker_graceful_shutdown_seconds: float = Field(default=30.0, ge=0)
    # The sandbox re-imports the workflow module for every job and runs each activation
    # behind import guards: ~30 % of the worker's CPU per job (see BENCHMARKS.md).
    worker_workflow_sandbox: bool = True
    # The identity the worker polls with (unset: the SDK's "<pid>@<host>"); supervisors set
    # a unique one to know that *this* worker polls.
    worker_identity: str | None = None

    # --- observability -------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)  # 0: no endpoint
    worker_metrics_host: str = "127.0.0.1"

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        """Accept the URL forms people paste and pick the async driver for them."""
        for plain, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite:///", "sqlite+aiosqlite:///"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'scripe.db').as_posix()}"
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("SCRIPE_DATABASE_URL must be a SQLite or PostgreSQL URL")
        if not self.public_base_url:
            self.public_base_url = f"http://{self.api_host}:{self.api_port}"
        if self.openai_model not in self.llm_prices:
            raise ValueError(
                f"no price configured for model {self.openai_model!r}: add it to SCRIPE_LLM_PRICES"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def worker_metrics_address(self) -> str | None:
        """``host:port`` of the worker's Prometheus endpoint; None when it is off (port 0)."""
        if not self.worker_metrics_port:
            return None
        return f"{self.worker_metrics_host}:{self.worker_metrics_port}"

    @property
    def temporal_host_port(self) -> tuple[str, int]:
        """``temporal_address`` split for a server to listen on (no host: 127.0.0.1)."""
        host, _, port = self.temporal_address.rpartition(":")
        return host or "127.0.0.1", int(port)

    @property
    def webhooks_allow_private(self) -> bool:
        if self.webhook_allow_private is None:
            return self.url_fetch_allow_private
        return self.webhook_allow_private

    @property
    def spend_estimate_nanos(self) -> int:
        return cents_to_nanos(self.spend_estimate_cents)

    def signing_key(self) -> bytes:
        """The server secret for key hashes and cursors.

        Unset, it is created once under the data folder so the embedded stack needs no
        configuration; set SCRIPE_SECRET_KEY in every real deployment (all replicas the same).
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            candidate = path.with_name(f".secret-{secrets.token_hex(6)}.tmp")
            candidate.write_text(secrets.token_urlsafe(48))
            candidate.chmod(0o600)
            try:
                # Linking fails if another process created the key first: both then read it.
                path.hardlink_to(candidate)
            except FileExistsError:
                pass
            finally:
                candidate.unlink(missing_ok=True)
        self.secret_key = SecretStr(path.read_text().strip())
        return self.secret_key.get_secret_value().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
