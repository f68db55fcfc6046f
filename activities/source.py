"""Fetching a URL source and reducing it to text (a regular activity: network I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from activities.safe_fetch import FetchFailed, FetchRefused, fetch_public_page
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
from domain.html_text import html_to_text

MIN_TEXT_CHARS = 200


class SourceActivities:
    def __init__(self, *, db: Database, settings: Settings, http: httpx.AsyncClient) -> None:
        self._db = db
        self._settings = settings
        self._http = http

    @activity.defn(name="fetch_source")
    async def fetch_source(self, request: FetchSourceInput) -> FetchedSource:
        """Fetch a public web page (size and time limited) and keep its readable text."""
        await jobs_repo.set_progress(
            db=self._db,
            job_id=request.job_id,
            progress=0.2,
            message="Reading the source URL",
            now=datetime.now(UTC),
        )
        try:
            async with heartbeating():
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
            title, text = None, page.body.strip()
        else:
            title, text = html_to_text(page.body)
        if len(text) < MIN_TEXT_CHARS:
            raise ApplicationError(
                JOB_ERROR_MESSAGES[SOURCE_EMPTY], type=SOURCE_EMPTY, non_retryable=True
            )
        return FetchedSource(url=page.url, title=title, text=text)
