"""The operator CLI, run as operators run it: the `scripe` console script, `--json` output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPE = Path(sys.executable).parent / "scripe"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("cli")
    env = {
        **os.environ,
        "SCRIPE_DATA_DIR": str(data),
        "SCRIPE_DATABASE_URL": f"sqlite:///{data / 'cli.db'}",
        "SCRIPE_SECRET_KEY": "cli-test-secret",
    }

    def run(*args: str, ok: bool = True) -> Any:
        result = subprocess.run(
            [str(SCRIPE), *args], env=env, capture_output=True, text=True, timeout=60
        )
        if ok:
            assert result.returncode == 0, result.stderr
            return json.loads(result.stdout) if "--json" in args else result.stdout
        assert result.returncode != 0
        return result.stderr

    return run


def test_workspace_key_project_and_knowledge_base_lifecycle(cli: Any, tmp_path: Path) -> None:
    ws = cli("workspaces", "create", "--name", "Acme", "--plan", "BUSINESS", "--json")
    assert ws["plan"] == "BUSINESS" and ws["dailyCapCents"] == 5000 and ws["id"].startswith("ws_")

    key = cli("keys", "create", "--workspace", ws["id"], "--mode", "live", "--json")
    assert key["key"].startswith("scripe_sk_live_") and key["hint"].endswith(key["key"][-4:])
    listed = cli("keys", "list", "--workspace", ws["id"], "--json")
    assert [k["id"] for k in listed] == [key["id"]] and "key" not in listed[0]

    tone = tmp_path / "tone.json"
    tone.write_text(json.dumps({"voice": "Direct", "person": "we"}))
    sample = tmp_path / "sample.txt"
    sample.write_text("We shipped it.\n\nThen we listened.")
    project = cli(
        "projects",
        "create",
        "--workspace",
        ws["id"],
        "--name",
        "Acme",
        "--type",
        "COMPANY_PAGE",
        "--language",
        "de",
        "--tone-file",
        str(tone),
        "--sample",
        "Kurz und klar.",
        "--sample-file",
        str(sample),
        "--pillar",
        "Retention",
        "--pillar",
        "Hiring",
        "--json",
    )
    assert project["toneProfile"] == {"voice": "Direct", "person": "we"}
    assert project["voiceSamples"] == ["Kurz und klar.", "We shipped it.\n\nThen we listened."]
    assert project["pillars"] == ["Retention", "Hiring"] and project["language"] == "de"

    updated = cli(
        "projects", "update", project["id"], "--status", "PAUSED", "--pillar", "Sales", "--json"
    )
    assert updated["status"] == "PAUSED" and updated["pillars"] == ["Sales"]
    assert updated["voiceSamples"] == project["voiceSamples"]  # untouched

    doc = tmp_path / "playbook.md"
    doc.write_text("First paragraph about retention.\n\n" + "Second paragraph. " * 80)
    added = cli(
        "kb", "add", "--project", project["id"], "--title", "Playbook", "--file", str(doc), "--json"
    )
    assert added["passages"] >= 2
    docs = cli("kb", "list", "--project", project["id"], "--json")
    assert [(d["title"], d["passages"]) for d in docs] == [("Playbook", added["passages"])]
    assert cli("kb", "remove", added["id"], "--json") == {"id": added["id"], "removed": True}
    assert cli("kb", "list", "--project", project["id"], "--json") == []

    revoked = cli("keys", "revoke", key["id"], "--json")
    assert revoked["revokedAt"] is not None


def test_plan_cap_and_rate_limit_overrides(cli: Any) -> None:
    ws = cli("workspaces", "create", "--name", "Solo", "--json")
    assert (ws["plan"], ws["dailyCapCents"], ws["capOverridden"]) == ("SOLO", 500, False)
    capped = cli(
        "workspaces", "update", ws["id"], "--cap-cents", "123", "--rate-limit", "30", "--json"
    )
    assert (capped["dailyCapCents"], capped["capOverridden"]) == (123, True)
    assert capped["rateLimitPerMinute"] == 30
    back = cli(
        "workspaces", "update", ws["id"], "--cap-cents", "default", "--plan", "ENTERPRISE", "--json"
    )
    assert (back["dailyCapCents"], back["plan"]) == (None, "ENTERPRISE")
    ledger = cli("spend", "show", "--workspace", ws["id"], "--mode", "live", "--json")
    assert ledger["capCents"] is None and ledger["entries"] == []
    assert ledger["reservedCents"] == ledger["spentCents"] == "0.0000"


def test_clear_errors_for_bad_input(cli: Any) -> None:
    assert "no workspace" in cli("keys", "create", "--workspace", "ws_missing", ok=False)
    assert "--mode is live or test" in cli(
        "keys", "create", "--workspace", "ws_x", "--mode", "prod", ok=False
    )
    assert "BCP 47" in cli(
        "projects",
        "create",
        "--workspace",
        "ws_x",
        "--name",
        "x",
        "--language",
        "not a tag",
        ok=False,
    )
    assert "whole number" in cli("workspaces", "update", "ws_x", "--cap-cents", "lots", ok=False)
