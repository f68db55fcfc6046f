"""Fetching a URL source and reducing it to text (a regular activity: network I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.db_steps import db_step
from activities.heartbeat import heartbeating
from activities.safe_fetch import fetch_public_page
from config import Settings
from contracts import (
    JOB_ERROR_MESSAGES,
    SOURCE_EMPTY,
    SOURCE_NOT_ALLOWED,
    SOURCE_UNREACHABLE,
    FetchedSource,
    FetchSourceInput,
)
from db.engine import Database
from db.repo import jobs as jobs_repo
from domain.html_text import clean_text, html_to_text
from domain.job_lifecycle import READING_SOURCE
from domain.prompt import SOURCE_MAX_CHARS
from domain.public_addresses import FetchFailed, FetchRefused

MIN_TEXT_CHARS = 200


class SourceActivities:
    def __init__(self, *, db: Database, settings: Settings, http: httpx.AsyncClient) -> None:
        self._db = db
        self._settings = settings
        self._http = http

    @activity.defn(name="fetch_source")
    async def fetch_source(self, request: FetchSourceInput) -> FetchedSource:
        """Fetch a public web page (size and time limited) and keep its readable text.

        The text returned (it is stored in the workflow's history) is cleaned of control
        characters and cut to what the prompt uses (``SOURCE_MAX_CHARS``).
        """
        async with heartbeating():
            return await self._fetch(request)

    async def _fetch(self, request: FetchSourceInput) -> FetchedSource:
        await db_step(
            lambda: jobs_repo.set_progress(
                db=self._db,
                job_id=request.job_id,
                progress=READING_SOURCE.progress,
                message=READING_SOURCE.message,
                now=datetime.now(UTC),
            ),
            what="showing progress",
        )
        try:
            page = await fetch_public_page(
                self._http,
                request.url,
                max_bytes=self._settings.url_fetch_max_bytes,
                timeout=self._settings.url_fetch_timeout_seconds,
                allow_private=self._settings.url_fetch_allow_private,
            )
        except FetchRefused as err:
            activity.logger.warning("source URL refused: %s", err)
            raise ApplicationError(
                JOB_ERROR_MESSAGES[SOURCE_NOT_ALLOWED], type=SOURCE_NOT_ALLOWED, non_retryable=True
            ) from err
        except FetchFailed as err:
            activity.logger.warning("source URL failed: %s", err)
            raise ApplicationError(
                f"{JOB_ERROR_MESSAGES[SOURCE_UNREACHABLE]} ({err})",
                type=SOURCE_UNREACHABLE,
                non_retryable=not err.retryable,
            ) from err
        if page.content_type == "text/plain":
            title, text = None, clean_text(page.body).strip()
        else:
            title, text = html_to_text(page.body)
        if len(text) < MIN_TEXT_CHARS:
            raise ApplicationError(
                JOB_ERROR_MESSAGES[SOURCE_EMPTY], type=SOURCE_EMPTY, non_retryable=True
            )
        return FetchedSource(url=page.url, title=title, text=text[:SOURCE_MAX_CHARS])
