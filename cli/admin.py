"""Operator commands: workspaces, API keys, projects and their knowledge base."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from cli.common import JsonOption, database, emit, fail, run
from config import get_settings
from db.repo import api_keys as keys_repo
from db.repo import projects as projects_repo
from db.repo import workspaces as workspaces_repo
from db.tables import ApiKey, Project, Workspace
from domain.plans import DEFAULT_DAILY_CAP_CENTS, Plan
from domain.retrieval import split_passages
from domain.text_rules import check_language_tag
from ids import new_api_key
from services.auth import hash_api_key

workspaces_app = typer.Typer(help="Create and configure workspaces (plan, cap, rate limit).")
keys_app = typer.Typer(help="Mint, list and revoke API keys.")
projects_app = typer.Typer(help="Projects and their voice: tone profile, samples, pillars.")
kb_app = typer.Typer(help="A project's knowledge-base documents.")


def _now() -> datetime:
    return datetime.now(UTC)


def workspace_dict(ws: Workspace) -> dict[str, Any]:
    default_cap = DEFAULT_DAILY_CAP_CENTS[Plan(ws.plan)]
    return {
        "id": ws.id,
        "name": ws.name,
        "plan": ws.plan,
        "dailyCapCents": ws.daily_cap_cents if ws.daily_cap_cents is not None else default_cap,
        "capOverridden": ws.daily_cap_cents is not None,
        "rateLimitPerMinute": ws.rate_limit_per_minute,
        "createdAt": ws.created_at,
    }


def key_dict(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "workspaceId": key.workspace_id,
        "mode": key.mode,
        "name": key.name,
        "hint": f"scripe_sk_{key.mode}_…{key.last4}",
        "createdAt": key.created_at,
        "expiresAt": key.expires_at,
        "revokedAt": key.revoked_at,
    }


def project_dict(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "workspaceId": project.workspace_id,
        "name": project.name,
        "type": project.type,
        "status": project.status,
        "url": project.url,
        "language": project.language,
        "toneProfile": project.tone_profile,
        "voiceSamples": project.voice_samples,
        "pillars": project.pillars,
        "createdAt": project.created_at,
        "updatedAt": project.updated_at,
    }


# --- workspaces ---------------------------------------------------------------------------


@workspaces_app.command("create")
def create_workspace(
    name: str = typer.Option(..., help="Display name"),
    plan: Plan = typer.Option(Plan.SOLO, help="Plan (sets the default daily cap)"),
    as_json: bool = JsonOption,
) -> None:
    """Create a workspace."""

    async def go() -> dict[str, Any]:
        async with database() as db:
            ws = await workspaces_repo.create_workspace(db=db, name=name, plan=plan, now=_now())
            return workspace_dict(ws)

    emit(run(go()), as_json=as_json)


def _cap_text(cents: int | None) -> str:
    """ENTERPRISE (and a cap set back to an unlimited plan's default) has no cap."""
    return "unlimited" if cents is None else f"{cents}¢"


@workspaces_app.command("list")
def list_workspaces(as_json: bool = JsonOption) -> None:
    """List workspaces."""

    async def go() -> list[dict[str, Any]]:
        async with database() as db:
            return [workspace_dict(w) for w in await workspaces_repo.list_workspaces(db=db)]

    emit(
        run(go()),
        as_json=as_json,
        text=lambda rows: (
            "\n".join(
                f"{r['id']}  {r['plan']:<10}  cap {_cap_text(r['dailyCapCents'])}  {r['name']}"
                for r in rows
            )
            or "(none)"
        ),
    )


@workspaces_app.command("update")
def update_workspace(
    workspace_id: str,
    name: str | None = typer.Option(None),
    plan: Plan | None = typer.Option(None, help="New plan"),
    cap_cents: str | None = typer.Option(
        None, "--cap-cents", help="Daily AI-spend cap in cents, or 'default' for the plan's"
    ),
    rate_limit: str | None = typer.Option(
        None, "--rate-limit", help="Requests per minute, or 'default' for the server's"
    ),
    as_json: bool = JsonOption,
) -> None:
    """Change a workspace's name, plan, daily cap or rate limit."""
    changes: dict[str, Any] = {}
    if cap_cents is not None:
        changes["daily_cap_cents"] = _int_or_default(cap_cents, "--cap-cents")
    if rate_limit is not None:
        changes["rate_limit_per_minute"] = _int_or_default(rate_limit, "--rate-limit", minimum=1)

    async def go() -> dict[str, Any] | None:
        async with database() as db:
            ws = await workspaces_repo.update_workspace(
                db=db, workspace_id=workspace_id, name=name, plan=plan, **changes
            )
            return workspace_dict(ws) if ws else None

    result = run(go())
    if result is None:
        raise fail(f"no workspace {workspace_id}")
    emit(result, as_json=as_json)


def _int_or_default(raw: str, option: str, minimum: int = 0) -> int | None:
    if raw == "default":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise fail(f"{option} takes a whole number or 'default'") from None
    if value < minimum:
        raise fail(f"{option} must be at least {minimum}")
    return value


# --- keys -------------------------------------------------------------------------------------


@keys_app.command("create")
def create_key(
    workspace_id: str = typer.Option(..., "--workspace"),
    mode: str = typer.Option("test", help="live or test"),
    name: str = typer.Option("default", help="A label for people"),
    expires_at: datetime | None = typer.Option(None, help="UTC expiry, e.g. 2027-01-31T00:00:00"),
    as_json: bool = JsonOption,
) -> None:
    """Mint a key. The full key is shown once, here; only its keyed hash is stored."""
    if mode not in ("live", "test"):
        raise fail("--mode is live or test")
    expiry = expires_at.replace(tzinfo=expires_at.tzinfo or UTC) if expires_at else None
    if expiry is not None and expiry <= _now():
        raise fail("--expires-at must be in the future (UTC)")
    result = run(mint_key(workspace_id=workspace_id, mode=mode, name=name, expires_at=expiry))
    if result is None:
        raise fail(f"no workspace {workspace_id}")
    emit(result, as_json=as_json)


async def mint_key(
    *, workspace_id: str, mode: str, name: str, expires_at: datetime | None
) -> dict[str, Any] | None:
    settings = get_settings()
    token = new_api_key("live" if mode == "live" else "test")
    async with database(settings) as db:
        if await workspaces_repo.get_workspace(db=db, workspace_id=workspace_id) is None:
            return None
        key = await keys_repo.create_api_key(
            db=db,
            workspace_id=workspace_id,
            mode=mode,
            name=name,
            key_hash=hash_api_key(settings.signing_key(), token),
            last4=token[-4:],
            expires_at=expires_at,
            now=_now(),
        )
    return {**key_dict(key), "key": token}


@keys_app.command("list")
def list_keys(
    workspace_id: str = typer.Option(..., "--workspace"), as_json: bool = JsonOption
) -> None:
    """List a workspace's keys (hints only: full keys are never stored)."""

    async def go() -> list[dict[str, Any]]:
        async with database() as db:
            return [
                key_dict(k) for k in await keys_repo.list_api_keys(db=db, workspace_id=workspace_id)
            ]

    emit(run(go()), as_json=as_json)


@keys_app.command("revoke")
def revoke_key(key_id: str, as_json: bool = JsonOption) -> None:
    """Revoke a key: refused within seconds on every API replica."""

    async def go() -> dict[str, Any] | None:
        async with database() as db:
            key = await keys_repo.revoke_api_key(db=db, key_id=key_id, now=_now())
            return key_dict(key) if key else None

    result = run(go())
    if result is None:
        raise fail(f"no key {key_id}")
    emit(result, as_json=as_json)


# --- projects ---------------------------------------------------------------------------------


def _read_json(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    value = json.loads(path.read_text())
    if not isinstance(value, dict):
        raise fail(f"{path} must hold a JSON object")
    return value


def _samples(samples: list[str] | None, files: list[Path] | None) -> list[str] | None:
    if samples is None and files is None:
        return None
    return [*(samples or []), *(f.read_text().strip() for f in files or [])]


@projects_app.command("create")
def create_project(
    workspace_id: str = typer.Option(..., "--workspace"),
    name: str = typer.Option(...),
    type: str = typer.Option("PERSONAL_BRAND", help="PERSONAL_BRAND or COMPANY_PAGE"),
    language: str = typer.Option("en", help="BCP 47 tag of the posts' default language"),
    url: str | None = typer.Option(None),
    tone_file: Path | None = typer.Option(None, help="JSON file with the tone-of-voice profile"),
    sample: list[str] | None = typer.Option(None, help="A voice sample (repeatable)"),
    sample_file: list[Path] | None = typer.Option(None, help="A file with a voice sample"),
    pillar: list[str] | None = typer.Option(None, help="A content pillar (repeatable)"),
    as_json: bool = JsonOption,
) -> None:
    """Create a project with its voice."""
    _check_project_fields(type=type, language=language, status=None)

    async def go() -> dict[str, Any] | None:
        async with database() as db:
            if await workspaces_repo.get_workspace(db=db, workspace_id=workspace_id) is None:
                return None
            project = await projects_repo.create_project(
                db=db,
                workspace_id=workspace_id,
                name=name,
                type=type,
                language=language,
                url=url,
                tone_profile=_read_json(tone_file) or {},
                voice_samples=_samples(sample, sample_file) or [],
                pillars=pillar or [],
                now=_now(),
            )
            return project_dict(project)

    result = run(go())
    if result is None:
        raise fail(f"no workspace {workspace_id}")
    emit(result, as_json=as_json)


@projects_app.command("update")
def update_project(
    project_id: str,
    name: str | None = typer.Option(None),
    status: str | None = typer.Option(None, help="ACTIVE, PAUSED or ARCHIVED"),
    language: str | None = typer.Option(None),
    url: str | None = typer.Option(None),
    tone_file: Path | None = typer.Option(None, help="Replace the tone profile from JSON"),
    sample: list[str] | None = typer.Option(None, help="Replace the voice samples"),
    sample_file: list[Path] | None = typer.Option(None),
    pillar: list[str] | None = typer.Option(None, help="Replace the content pillars"),
    as_json: bool = JsonOption,
) -> None:
    """Change a project; list options replace the whole list."""
    _check_project_fields(type=None, language=language, status=status)
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name,
            "status": status,
            "language": language,
            "url": url,
            "tone_profile": _read_json(tone_file),
            "voice_samples": _samples(sample, sample_file),
            "pillars": pillar,
        }.items()
        if v is not None
    }

    async def go() -> dict[str, Any] | None:
        async with database() as db:
            project = await projects_repo.update_project(
                db=db, project_id=project_id, now=_now(), changes=changes
            )
            return project_dict(project) if project else None

    result = run(go())
    if result is None:
        raise fail(f"no project {project_id}")
    emit(result, as_json=as_json)


@projects_app.command("show")
def show_project(project_id: str, as_json: bool = JsonOption) -> None:
    """Show a project with its voice."""

    async def go() -> dict[str, Any] | None:
        async with database() as db:
            project = await projects_repo.get_project(db=db, project_id=project_id)
            return project_dict(project) if project else None

    result = run(go())
    if result is None:
        raise fail(f"no project {project_id}")
    emit(result, as_json=as_json)


@projects_app.command("list")
def list_projects(
    workspace_id: str = typer.Option(..., "--workspace"), as_json: bool = JsonOption
) -> None:
    """List a workspace's projects."""

    async def go() -> list[dict[str, Any]]:
        async with database() as db:
            rows = await projects_repo.list_projects(
                db=db, workspace_id=workspace_id, after=None, limit=1000
            )
            return [project_dict(p) for p in rows]

    emit(
        run(go()),
        as_json=as_json,
        text=lambda rows: (
            "\n".join(f"{r['id']}  {r['status']:<8}  {r['name']}" for r in rows) or "(none)"
        ),
    )


def _check_project_fields(*, type: str | None, language: str | None, status: str | None) -> None:
    if type is not None and type not in ("PERSONAL_BRAND", "COMPANY_PAGE"):
        raise fail("--type is PERSONAL_BRAND or COMPANY_PAGE")
    if status is not None and status not in ("ACTIVE", "PAUSED", "ARCHIVED"):
        raise fail("--status is ACTIVE, PAUSED or ARCHIVED")
    if language is not None:
        try:
            check_language_tag(language)
        except ValueError as err:
            raise fail(f"--language {err}") from None


# --- knowledge base ---------------------------------------------------------------------------


@kb_app.command("add")
def add_document(
    project_id: str = typer.Option(..., "--project"),
    title: str = typer.Option(...),
    file: Path | None = typer.Option(None, help="A UTF-8 text or markdown file"),
    text: str | None = typer.Option(None, help="The document's text"),
    source: str | None = typer.Option(None, help="Where it came from (URL, file name)"),
    as_json: bool = JsonOption,
) -> None:
    """Add a document; it is cut into passages the writer can draw on."""
    if (file is None) == (text is None):
        raise fail("give exactly one of --file and --text")
    body = file.read_text() if file else str(text)
    result = run(
        add_kb_document(
            project_id=project_id,
            title=title,
            text=body,
            source=source or (file.name if file else None),
        )
    )
    if result is None:
        raise fail(f"no project {project_id}")
    emit(result, as_json=as_json)


async def add_kb_document(
    *, project_id: str, title: str, text: str, source: str | None
) -> dict[str, Any] | None:
    async with database() as db:
        if await projects_repo.get_project(db=db, project_id=project_id) is None:
            return None
        passages = split_passages(text)
        document = await projects_repo.add_kb_document(
            db=db,
            project_id=project_id,
            title=title,
            text=text,
            source=source,
            passages=passages,
            now=_now(),
        )
        return {
            "id": document.id,
            "projectId": project_id,
            "title": title,
            "passages": len(passages),
        }


@kb_app.command("list")
def list_documents(
    project_id: str = typer.Option(..., "--project"), as_json: bool = JsonOption
) -> None:
    """List a project's documents."""

    async def go() -> list[dict[str, Any]]:
        async with database() as db:
            rows = await projects_repo.list_kb_documents(db=db, project_id=project_id)
            return [
                {
                    "id": d.id,
                    "title": d.title,
                    "source": d.source,
                    "passages": n,
                    "createdAt": d.created_at,
                }
                for d, n in rows
            ]

    emit(run(go()), as_json=as_json)


@kb_app.command("remove")
def remove_document(document_id: str, as_json: bool = JsonOption) -> None:
    """Remove a document and its passages."""

    async def go() -> bool:
        async with database() as db:
            return await projects_repo.delete_kb_document(db=db, document_id=document_id)

    if not run(go()):
        raise fail(f"no document {document_id}")
    emit({"id": document_id, "removed": True}, as_json=as_json)
