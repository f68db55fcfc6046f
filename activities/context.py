"""Loading what the writer needs to sound like the project (a local activity)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts import (
    JOB_ERROR_MESSAGES,
    PROJECT_UNAVAILABLE,
    KnowledgePassage,
    LoadContextInput,
    ProjectContext,
)
from db.engine import Database
from db.repo import projects as projects_repo
from domain.retrieval import rank_passages

TOP_PASSAGES = 3


class ContextActivities:
    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name="load_context")
    async def load_context(self, request: LoadContextInput) -> ProjectContext:
        """Tone profile, voice samples, pillars and the KB passages closest to the source."""
        loaded = await projects_repo.load_project_context(
            db=self._db, project_id=request.project_id
        )
        if loaded is None or loaded[0].workspace_id != request.workspace_id:
            raise _unavailable()
        project, passages = loaded
        if project.status != "ACTIVE":
            raise _unavailable()
        query = request.source_text or " ".join(project.pillars)
        best = rank_passages(query, [text for _, text in passages], top_k=TOP_PASSAGES)
        return ProjectContext(
            project_id=project.id,
            name=project.name,
            project_type=project.type,
            language=project.language,
            tone_profile=project.tone_profile,
            voice_samples=project.voice_samples,
            pillars=project.pillars,
            passages=[
                KnowledgePassage(document_title=passages[i][0], text=passages[i][1]) for i in best
            ],
        )


def _unavailable() -> ApplicationError:
    return ApplicationError(
        JOB_ERROR_MESSAGES[PROJECT_UNAVAILABLE], type=PROJECT_UNAVAILABLE, non_retryable=True
    )
