"""The activities' database steps on SQLite and PostgreSQL: a value the database cannot
take fails the job ``storage_rejected`` at once (not retried for ever), a missing row too,
and fetched text reaches the history clean and cut to what the prompt uses."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.posts import PostActivities
from activities.source import SourceActivities
from activities.spend import SpendActivities
from config import Settings
from contracts import (
    STORAGE_REJECTED,
    CompleteJobInput,
    FetchSourceInput,
    JobMode,
    JobStatus,
    SettleJobInput,
)
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import posts as posts_repo
from devtools.serving import serve
from domain.prompt import SOURCE_MAX_CHARS
from ids import new_id
from tests.utils.llm_activity import FAR_FUTURE, admitted_job

SETTINGS = Settings(secret_key="storage-tests", url_fetch_allow_private=True)


async def running_job(db: Database) -> tuple[str, str, str]:
    ref = await admitted_job(db, SETTINGS)
    return ref.job_id, ref.workspace_id, ref.project_id


def complete_input(
    job_id: str, workspace_id: str, project_id: str, **kw: object
) -> CompleteJobInput:
    values: dict[str, object] = {
        "job_id": job_id,
        "workspace_id": workspace_id,
        "mode": JobMode.LIVE,
        "project_id": project_id,
        "title": "Hook",
        "content": "Hook\n\nBody.",
        "language": "en",
    }
    values.update(kw)
    return CompleteJobInput.model_validate(values)


async def test_a_post_scheduled_past_year_9999_is_storage_rejected(any_db: Database) -> None:
    await assert_storage_rejected(any_db, scheduled_for=FAR_FUTURE)


@pytest.mark.postgres
async def test_a_post_with_a_nul_character_is_storage_rejected_on_postgres(
    postgres_db: Database,
) -> None:
    # SQLite stores NUL characters; PostgreSQL refuses them in text (SQLSTATE 22021).
    await assert_storage_rejected(postgres_db, content="Hook\n\nBody with a NUL \x00 in it.")


async def assert_storage_rejected(any_db: Database, **change: object) -> None:
    job_id, ws, project = await running_job(any_db)
    request = complete_input(job_id, ws, project, **change)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(PostActivities(any_db).complete_job, request)
    assert (raised.value.type, raised.value.non_retryable) == (STORAGE_REJECTED, True)
    assert await posts_repo.posts_for_job(db=any_db, job_id=job_id) == []
    # What the workflow does next: settle FAILED, which releases the reservation.
    settled = await ActivityEnvironment().run(
        SpendActivities(any_db).settle,
        SettleJobInput(
            job_id=job_id,
            status=JobStatus.FAILED,
            error_code=STORAGE_REJECTED,
            error_message="x",
        ),
    )
    assert settled.actual_nanos == 0
    stored = await jobs_repo.get_job(db=any_db, job_id=job_id)
    assert stored is not None and stored.status == JobStatus.FAILED
    assert stored.reserved_open_nanos == 0


async def test_a_missing_job_row_is_storage_rejected(any_db: Database) -> None:
    request = complete_input(new_id("job"), "ws_gone", "proj_gone")
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(PostActivities(any_db).complete_job, request)
    assert (raised.value.type, raised.value.non_retryable) == (STORAGE_REJECTED, True)


async def test_fetched_text_is_clean_and_cut_to_what_the_prompt_uses(sqlite_db: Database) -> None:
    sentence = "Retention beats acquisition when the product keeps its promise.\x00\x07\r\n"

    async def page(_request: Request) -> Response:
        return PlainTextResponse(sentence * 2000)

    job_id, _, _ = await running_job(sqlite_db)
    app = Starlette(routes=[Route("/article", page)])
    async with serve(app, lifespan="off") as url, httpx.AsyncClient() as http:
        activities = SourceActivities(db=sqlite_db, settings=SETTINGS, http=http)
        fetched = await ActivityEnvironment().run(
            activities.fetch_source, FetchSourceInput(job_id=job_id, url=f"{url}/article")
        )
    assert len(fetched.text) == SOURCE_MAX_CHARS
    assert "\x00" not in fetched.text and "\x07" not in fetched.text and "\r" not in fetched.text
    assert fetched.text.startswith("Retention beats acquisition")
