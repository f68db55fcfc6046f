"""What the writer needs to sound like the project: its voice and the knowledge-base
passages closest to the source. Read by the writing step at the start of each attempt, so
a retry sees an updated profile and the admission's workflow task carries no extra step.

The read is its own short read transaction, before the attempt's write: ranking the
passages (BM25 over the whole knowledge base, which has no size limit) must not run
while the attempt holds SQLite's single write lock."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from contracts import JOB_ERROR_MESSAGES, PROJECT_UNAVAILABLE, KnowledgePassage, ProjectContext
from db.engine import Database
from db.repo import projects as projects_repo
from domain.retrieval import rank_passages

TOP_PASSAGES = 3


class ProjectVoice:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def read(
        self, *, workspace_id: str, project_id: str, source_text: str
    ) -> ProjectContext | None:
        """Tone profile, voice samples, pillars and the KB passages closest to the source.

        None for a project the job may not use (gone, another workspace's, or no longer
        ACTIVE): the caller fails with :func:`unavailable` (``project_unavailable``, not
        retryable) once the writing step has counted its attempt."""
        loaded = await projects_repo.load_project_context(db=self._db, project_id=project_id)
        if loaded is None or loaded[0].workspace_id != workspace_id:
            return None
        project, passages = loaded
        if project.status != "ACTIVE":
            return None
        query = source_text or " ".join(project.pillars)
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


def unavailable() -> ApplicationError:
    return ApplicationError(
        JOB_ERROR_MESSAGES[PROJECT_UNAVAILABLE], type=PROJECT_UNAVAILABLE, non_retryable=True
    )
