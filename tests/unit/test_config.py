"""Settings: working defaults, normalised URLs, unsafe values refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from config import Settings


def test_defaults_run_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCRIPE_DATABASE_URL", "SCRIPE_DATA_DIR", "SCRIPE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///data/scripe.db"
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.openai_api_key is None  # the offline writer
    assert settings.spend_estimate_nanos == 50_000_000
    assert settings.public_base_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_urls_are_normalised(given: str, normalised: str) -> None:
    assert Settings(database_url=given).database_url == normalised


@pytest.mark.parametrize(
    "overrides",
    [
        {"database_url": "mysql://u@h/db"},
        {"openai_model": "unpriced-model"},
        {"key_cache_seconds": 10},
        {"rate_limit_per_minute": 0},
        {"spend_estimate_cents": 0},
        {"log_level": "LOUD"},
    ],
)
def test_unsafe_or_unknown_values_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate(overrides)


def test_prices_come_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPE_LLM_PRICES", '{"local-llama": {"input": 0, "output": 0}}')
    monkeypatch.setenv("SCRIPE_OPENAI_MODEL", "local-llama")
    settings = Settings()
    assert (
        settings.llm_prices["local-llama"].cost_nanos(
            input_tokens=10, cached_input_tokens=0, output_tokens=10
        )
        == 0
    )


def test_the_generated_secret_is_created_once_and_reused(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).signing_key()
    assert first == Settings(data_dir=tmp_path).signing_key()
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert Settings(data_dir=tmp_path, secret_key="explicit").signing_key() == b"explicit"
