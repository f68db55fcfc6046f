"""Projects with their voice (tone profile, samples, pillars) and knowledge base."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select

from db.engine import Database
from db.repo._common import newest_first_after
from db.tables import KbDocument, KbPassage, Project
from ids import new_id


async def create_project(
    *,
    db: Database,
    workspace_id: str,
    name: str,
    type: str,
    language: str,
    url: str | None,
    tone_profile: dict[str, Any],
    voice_samples: list[str],
    pillars: list[str],
    now: datetime,
    status: str = "ACTIVE",
) -> Project:
    async with db.write() as session:
        project = Project(
            id=new_id("proj"),
            workspace_id=workspace_id,
            name=name,
            type=type,
            status=status,
            url=url,
            language=language,
            tone_profile=tone_profile,
            voice_samples=voice_samples,
            pillars=pillars,
            created_at=now,
            updated_at=now,
        )
        session.add(project)
        await session.commit()
        return project


async def update_project(
    *, db: Database, project_id: str, now: datetime, changes: dict[str, Any]
) -> Project | None:
    """Apply ``changes`` (column name → value) to a project."""
    async with db.write() as session:
        project = await session.get(Project, project_id)
        if project is None:
            return None
        for column, value in changes.items():
            if not hasattr(Project, column) or column in {"id", "workspace_id", "created_at"}:
                raise ValueError(f"cannot change project field {column!r}")
            setattr(project, column, value)
        project.updated_at = now
        await session.commit()
        return project


async def get_project(*, db: Database, project_id: str) -> Project | None:
    async with db.read_statement() as session:
        return await session.get(Project, project_id)


async def list_projects(
    *, db: Database, workspace_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[Project]:
    """Newest first; ``after`` is the (created_at, id) of the last row of the previous page."""
    async with db.read() as session:
        query = select(Project).where(Project.workspace_id == workspace_id)
        query = query.where(newest_first_after(Project.created_at, Project.id, after))
        rows = await session.scalars(
            query.order_by(Project.created_at.desc(), Project.id.desc()).limit(limit)
        )
        return list(rows)


async def add_kb_document(
    *,
    db: Database,
    project_id: str,
    title: str,
    text: str,
    source: str | None,
    passages: list[str],
    now: datetime,
) -> KbDocument:
    async with db.write() as session:
        document = KbDocument(
            id=new_id("kbdoc"),
            project_id=project_id,
            title=title,
            source=source,
            text=text,
            created_at=now,
        )
        session.add(document)
        await session.flush()
        session.add_all(
            KbPassage(document_id=document.id, project_id=project_id, ordinal=i, text=passage)
            for i, passage in enumerate(passages)
        )
        await session.commit()
        return document


async def list_kb_documents(*, db: Database, project_id: str) -> list[tuple[KbDocument, int]]:
    """Documents with their passage counts."""
    async with db.read() as session:
        rows = await session.execute(
            select(KbDocument, func.count(KbPassage.id))
            .outerjoin(KbPassage, KbPassage.document_id == KbDocument.id)
            .where(KbDocument.project_id == project_id)
            .group_by(KbDocument.id)
            .order_by(KbDocument.created_at)
        )
        return [(row[0], row[1]) for row in rows]


async def delete_kb_document(*, db: Database, document_id: str) -> bool:
    async with db.write() as session:
        await session.execute(delete(KbPassage).where(KbPassage.document_id == document_id))
        result = await session.execute(delete(KbDocument).where(KbDocument.id == document_id))
        await session.commit()
        return bool(getattr(result, "rowcount", 0))


async def load_project_context(
    *, db: Database, project_id: str
) -> tuple[Project, list[tuple[str, str]]] | None:
    """The project and all of its passages as (document title, passage text)."""
    async with db.read() as session:
        project = await session.get(Project, project_id)
        if project is None:
            return None
        rows = await session.execute(_PASSAGES_OF_PROJECT, {"project_id": project_id})
        return project, [(row[0], row[1]) for row in rows]


# Built once: read by every writing attempt.
_PASSAGES_OF_PROJECT = (
    select(KbDocument.title, KbPassage.text)
    .join(KbDocument, KbDocument.id == KbPassage.document_id)
    .where(KbPassage.project_id == bindparam("project_id"))
    .order_by(KbPassage.document_id, KbPassage.ordinal)
)
