"""docker-compose.yml, checked without a Docker engine: its services,
health checks, start order, and the environment the API and the worker share. When a
compose CLI is installed, ``config`` must also accept the file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.main import app as cli_app
from config import Settings
from contracts import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
TEST_ENV = {"SCRIPE_SECRET_KEY": "compose-test-secret"}
SCRIPE_SERVICES = ("migrate", "api", "worker")
HEALTHY, COMPLETED = "service_healthy", "service_completed_successfully"


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``."""

    def value(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        if name in env:
            return env[name]
        if op == ":?":
            raise AssertionError(f"{name} is required: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}", value, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), TEST_ENV))
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment is written as a mapping"
    return {key: "" if value is None else str(value) for key, value in env.items()}


def test_the_cluster_has_every_part(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "redis",
        "migrate",
        "api",
        "worker",
    }
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    for one_shot in ("temporal-schema", "temporal-setup"):
        assert services[one_shot]["image"].startswith("temporalio/admin-tools:")
    # The API, the worker and the migrations run one image, built from the Dockerfile.
    images = {(services[name]["build"], services[name]["image"]) for name in SCRIPE_SERVICES}
    assert images == {(".", "scripe-post-generation:latest")}
    assert [services[name]["command"] for name in SCRIPE_SERVICES] == [
        ["db", "upgrade"],
        ["api"],
        ["worker"],
    ]
    commands = {command.name for command in cli_app.registered_commands}
    assert {"api", "worker"} <= commands


def test_long_running_services_have_health_checks(services: dict[str, dict[str, Any]]) -> None:
    for name in ("postgresql", "temporal", "redis", "api", "worker"):
        check = services[name].get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert check.get("retries", 0) >= 3, name
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/v1/health" in api_check
    worker_check = " ".join(services["worker"]["healthcheck"]["test"])
    assert "http://127.0.0.1:9464/metrics" in worker_check


def test_start_order_is_enforced_with_conditions(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "temporal-schema": {"postgresql": HEALTHY},
        "temporal": {"temporal-schema": COMPLETED},
        "temporal-setup": {"temporal": HEALTHY},
        "temporal-ui": {"temporal": HEALTHY},
        "migrate": {"postgresql": HEALTHY},
        "api": {"migrate": COMPLETED, "temporal-setup": COMPLETED, "redis": HEALTHY},
        "worker": {"migrate": COMPLETED, "temporal-setup": COMPLETED},
    }
    actual = {
        name: {dep: spec["condition"] for dep, spec in service["depends_on"].items()}
        for name, service in services.items()
        if "depends_on" in service
    }
    assert actual == expected
    # A service waited on as healthy has a health check; one waited on as completed stops.
    for deps in actual.values():
        for dep, condition in deps.items():
            if condition == HEALTHY:
                assert "healthcheck" in services[dep], dep
            else:
                assert services[dep].get("restart", "no").startswith(("no", "on-failure")), dep


def test_api_and_worker_share_database_temporal_and_secret(
    services: dict[str, dict[str, Any]],
) -> None:
    api, worker = env_of(services["api"]), env_of(services["worker"])
    shared = (
        "SCRIPE_DATABASE_URL",
        "SCRIPE_SECRET_KEY",
        "SCRIPE_TEMPORAL_ADDRESS",
        "SCRIPE_TEMPORAL_NAMESPACE",
        "SCRIPE_TEMPORAL_TASK_QUEUE",
    )
    for key in shared:
        assert api[key] and api[key] == worker[key], key
    assert api["SCRIPE_SECRET_KEY"] == TEST_ENV["SCRIPE_SECRET_KEY"]  # from the shell
    for key in shared:  # the migrations run against the same database
        assert env_of(services["migrate"])[key] == api[key], key

    database = Settings(database_url=api["SCRIPE_DATABASE_URL"], secret_key="x")
    assert database.database_url.startswith("postgresql+asyncpg://")
    assert "@postgresql:5432/" in database.database_url  # the postgresql service
    assert env_of(services["postgresql"])["POSTGRES_DB"] == database.database_url.rsplit("/")[-1]
    assert api["SCRIPE_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env_of(services["temporal-setup"])["TEMPORAL_ADDRESS"] == "temporal:7233"
    namespace = env_of(services["temporal-setup"])["TEMPORAL_NAMESPACE"]
    assert api["SCRIPE_TEMPORAL_NAMESPACE"] == namespace
    # Temporal keeps its data on the same PostgreSQL server.
    temporal = env_of(services["temporal"])
    assert temporal["DB"] == "postgres12" and temporal["POSTGRES_SEEDS"] == "postgresql"
    # API replicas share the rate-limit window through Redis.
    assert api["SCRIPE_REDIS_URL"].startswith("redis://redis:")


def test_every_scripe_variable_is_a_setting(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = {f"SCRIPE_{name.upper()}" for name in Settings.model_fields}
    used = set(re.findall(r"\bSCRIPE_[A-Z0-9_]+\b", COMPOSE_FILE.read_text()))
    assert used and used <= fields, used - fields
    for name in SCRIPE_SERVICES:
        # Each process's environment (pass-through values unset) makes valid settings.
        for key in [key for key in os.environ if key.startswith("SCRIPE_")]:
            monkeypatch.delenv(key)
        for key, value in env_of(services[name]).items():
            if value:
                monkeypatch.setenv(key, value)
        settings = Settings()
        assert settings.database_url.startswith("postgresql+asyncpg://"), name


def test_the_worker_stops_gracefully_and_is_scrapeable(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]
    env = env_of(worker)
    assert env["SCRIPE_WORKER_METRICS_HOST"] == "0.0.0.0"
    assert env["SCRIPE_WORKER_METRICS_PORT"] in [str(port) for port in worker["expose"]]
    graceful = float(env["SCRIPE_WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    assert _seconds(worker["stop_grace_period"]) > graceful  # no SIGKILL mid-drain
    assert _seconds(services["api"]["stop_grace_period"]) > 30  # uvicorn's drain
    # Scaling (--scale worker=N) needs no fixed container name or host port.
    assert "container_name" not in worker and "ports" not in worker


def test_setup_registers_every_search_attribute_as_keyword(
    services: dict[str, dict[str, Any]],
) -> None:
    setup = services["temporal-setup"]
    script = _mounted_script(setup)
    names = re.search(r"for name in ([\w ]+); do", script)
    assert names is not None
    assert names[1].split() == [key.name for key in SEARCH_ATTRIBUTES]
    assert '--name "$name" --type Keyword' in script
    schema = _mounted_script(services["temporal-schema"])
    assert "temporal_visibility" in schema and "--plugin postgres12" in schema
    for path in (ROOT / "deploy/temporal").glob("*.sh"):
        subprocess.run(["sh", "-n", str(path)], check=True)  # syntax


def test_the_dockerfile_builds_one_image_for_both_processes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert 'ENTRYPOINT ["scripe"]' in dockerfile and re.search(r"^USER \w+", dockerfile, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "data", ".git"} <= set(ignored)


@pytest.mark.parametrize("cli", [["docker", "compose"], ["docker-compose"]])
def test_compose_cli_accepts_the_file(cli: list[str]) -> None:
    if shutil.which(cli[0]) is None:
        pytest.skip(f"{cli[0]} is not installed")
    env = {**os.environ, **TEST_ENV}
    probe = subprocess.run([*cli, "version"], capture_output=True, env=env)
    if probe.returncode != 0:
        pytest.skip(f"{' '.join(cli)} is not available")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", str(duration))
    assert match, duration
    return float(match[1])


def _mounted_script(service: dict[str, Any]) -> str:
    """The script a one-shot service runs, read from the folder it mounts."""
    (mount,) = service["volumes"]
    host, container = mount.split(":")[:2]
    (command,) = service["command"]
    return (ROOT / str(host) / Path(command).relative_to(container)).read_text()
