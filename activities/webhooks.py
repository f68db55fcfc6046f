"""Webhook side effects: record a finished job's events, send one signed attempt, give up.

Events are rendered with the API's own presenters (``api.presenters`` and ``api.schemas``
are plain pydantic, no FastAPI), so ``data.object`` is the Job or Post exactly as ``GET``
returns it. Each attempt goes to an SSRF-checked, pinned address like URL sources
(``domain/public_addresses.py``) and never follows a redirect.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from temporalio import activity

from api.presenters import job_public, post_public
from connections import system_resolver
from contracts import (
    DeliveryAttemptInput,
    DeliveryAttemptResult,
    DeliveryGiveUpInput,
    DeliveryStart,
    EmittedEvents,
    JobEventsInput,
    JobMode,
    JobStatus,
)
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import posts as posts_repo
from db.repo import webhooks as repo
from domain.errors import DependencyFailure
from domain.public_addresses import (
    FetchFailed,
    FetchRefused,
    Resolver,
    check_url_shape,
    resolve_checked,
)
from domain.webhooks import (
    JOB_COMPLETED,
    JOB_FAILED,
    POST_CREATED,
    classify_status,
    delivery_id,
    event_body,
    event_id,
    rfc3339,
    signed_headers,
    signing_secrets,
)
from services.estimates import CompletionEstimator

USER_AGENT = "Scripe-Webhooks/1.0 (+https://scripe.io)"


class AttemptFailed(DependencyFailure):
    """No HTTP answer: refused destination, DNS, connection, or the attempt's time ran out."""


async def post_signed(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: str,
    headers: dict[str, str],
    timeout: float,
    allow_private: bool,
    resolver: Resolver = system_resolver,
) -> int:
    """POST ``body`` to ``url`` at its checked address (Host and TLS name unchanged) and
    return the status code; the answer's body is not read and redirects are not followed."""
    try:
        check_url_shape(url, allow_private=allow_private)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        async with asyncio.timeout(timeout):
            address = await resolve_checked(
                host, port, allow_private=allow_private, resolver=resolver
            )
            pinned_host = f"[{address}]" if ":" in address else address
            pinned = urlunsplit(
                (parts.scheme, f"{pinned_host}:{port}", parts.path or "/", parts.query, "")
            )
            request = client.build_request(
                "POST",
                pinned,
                content=body.encode(),
                headers={
                    **headers,
                    "Host": parts.netloc.rsplit("@", 1)[-1],
                    "User-Agent": USER_AGENT,
                },
                extensions={"sni_hostname": host},
                timeout=httpx.Timeout(timeout),
            )
            response = await client.send(request, stream=True)
            await response.aclose()
            return response.status_code
    except FetchRefused as err:
        raise AttemptFailed(f"destination refused: {err}") from err
    except FetchFailed as err:
        raise AttemptFailed(str(err)) from err
    except TimeoutError as err:
        raise AttemptFailed(f"no answer within {timeout:g} s") from err
    except httpx.HTTPError as err:
        raise AttemptFailed(f"connection failed: {type(err).__name__}") from err


async def render_job_events(db: Database, job_id: str) -> list[repo.NewEvent]:
    """The events a finished job emits, with bodies as GET renders the Job and the Post."""
    job = await jobs_repo.get_job(db=db, job_id=job_id)
    if job is None or job.status not in (JobStatus.DONE, JobStatus.FAILED):
        return []
    at = job.completed_at or job.updated_at
    rendered = await job_public(job, estimator=CompletionEstimator(db), now=at)
    objects: list[tuple[str, dict[str, Any]]] = [
        (JOB_COMPLETED if job.status == JobStatus.DONE else JOB_FAILED, _json(rendered))
    ]
    if job.status == JobStatus.DONE and job.post_id is not None:
        post = await posts_repo.get_post(
            db=db, post_id=job.post_id, workspace_id=job.workspace_id, mode=job.mode
        )
        if post is not None:
            objects.append((POST_CREATED, _json(post_public(post))))
    events = []
    for event_type, data in objects:
        evt = event_id(job_id=job.id, event_type=event_type)
        envelope = {
            "id": evt,
            "type": event_type,
            "createdAt": rfc3339(at),
            "data": {"object": data},
        }
        events.append(
            repo.NewEvent(id=evt, type=event_type, body=event_body(envelope), created_at=at)
        )
    return events


def _json(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json")
    return dumped


class WebhookActivities:
    def __init__(
        self,
        *,
        db: Database,
        http: httpx.AsyncClient,
        timeout_seconds: float,
        allow_private: bool,
        max_backoff_seconds: float | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._db = db
        self._http = http
        self._timeout = timeout_seconds
        self._allow_private = allow_private
        self._max_backoff_seconds = max_backoff_seconds
        self._resolver = resolver

    @activity.defn(name="record_job_events")
    async def record_job_events(self, request: JobEventsInput) -> EmittedEvents:
        """Store the job's events and their deliveries (each once, whatever reruns) and
        return the deliveries still to be made."""
        events = await render_job_events(self._db, request.job_id)
        if not events:
            return EmittedEvents()
        pending = await repo.record_events(
            db=self._db,
            workspace_id=request.workspace_id,
            mode=request.mode.value,
            job_id=request.job_id,
            events=events,
            delivery_id_for=delivery_id,
            now=datetime.now(UTC),
        )
        return EmittedEvents(
            event_ids=[e.id for e in events],
            deliveries=[
                DeliveryStart(
                    delivery_id=p.delivery_id,
                    event_id=p.event_id,
                    event_type=p.event_type,
                    endpoint_id=p.endpoint_id,
                    workspace_id=request.workspace_id,
                    mode=JobMode(request.mode),
                    max_backoff_seconds=self._max_backoff_seconds,
                )
                for p in pending
            ],
        )

    @activity.defn(name="attempt_webhook_delivery")
    async def attempt_delivery(self, request: DeliveryAttemptInput) -> DeliveryAttemptResult:
        """One signed POST; the attempt is on record before it is sent."""
        target = await repo.load_delivery(db=self._db, delivery_id=request.delivery_id)
        if target is None or target.delivery.status != repo.PENDING:
            return DeliveryAttemptResult(outcome="skipped")
        endpoint, event = target.endpoint, target.event
        if endpoint.deleted_at is not None or not endpoint.enabled:
            reason = (
                "the endpoint was deleted" if endpoint.deleted_at else "the endpoint is disabled"
            )
            await repo.finish_delivery(
                db=self._db, delivery_id=target.delivery.id, reason=reason, now=_now()
            )
            return DeliveryAttemptResult(outcome="skipped", error=reason)
        now = _now()
        number = await repo.start_attempt(db=self._db, delivery_id=target.delivery.id, now=now)
        headers = signed_headers(
            secrets_=signing_secrets(
                current=endpoint.secret,
                previous=endpoint.previous_secret,
                previous_until=endpoint.previous_secret_until,
                now=now,
            ),
            msg_id=event.id,
            timestamp=now,
            body=event.body,
        )
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            status_code = await post_signed(
                self._http,
                endpoint.url,
                body=event.body,
                headers=headers,
                timeout=self._timeout,
                allow_private=self._allow_private,
                resolver=self._resolver,
            )
            outcome = classify_status(status_code)
            if outcome == "retry":
                error = f"answered {status_code}" + (
                    " (redirects are not followed)" if 300 <= status_code < 400 else ""
                )
        except AttemptFailed as err:
            outcome, error = "retry", str(err)
        latency = timedelta(seconds=time.monotonic() - started)
        finished = _now()
        await repo.finish_attempt(
            db=self._db,
            delivery_id=target.delivery.id,
            number=number,
            status_code=status_code,
            latency_ms=int(latency.total_seconds() * 1000),
            error=error,
            outcome=outcome,
            now=finished,
        )
        _record_attempt(event_type=event.type, outcome=outcome, latency=latency)
        if outcome == "delivered":
            _record_lag(event_type=event.type, lag=finished - event.created_at)
        return DeliveryAttemptResult(
            outcome=outcome, attempt=number, status_code=status_code, error=error
        )

    @activity.defn(name="give_up_webhook_delivery")
    async def give_up(self, request: DeliveryGiveUpInput) -> bool:
        disabled = await repo.give_up(
            db=self._db,
            delivery_id=request.delivery_id,
            reason=request.reason,
            failing_since=request.failing_since,
            now=_now(),
        )
        activity.metric_meter().create_counter(
            "scripe_webhook_deliveries_failed", "Deliveries that gave up after the retry window"
        ).add(1, {"endpoint_disabled": disabled})
        return disabled


def _now() -> datetime:
    return datetime.now(UTC)


def _record_attempt(*, event_type: str, outcome: str, latency: timedelta) -> None:
    """``scripe_webhook_attempts`` by outcome and the attempt's latency histogram."""
    meter = activity.metric_meter()
    attributes: dict[str, str | int | float | bool] = {
        "event_type": event_type,
        "outcome": outcome,
    }
    meter.create_counter("scripe_webhook_attempts", "Webhook delivery attempts").add(1, attributes)
    meter.create_histogram_timedelta(
        "scripe_webhook_attempt_latency", "Duration of webhook delivery attempts", "ms"
    ).record(latency, attributes)


def _record_lag(*, event_type: str, lag: timedelta) -> None:
    """Event created (job finished) → the receiver's 2xx: what customers wait for."""
    activity.metric_meter().create_histogram_timedelta(
        "scripe_webhook_delivery_lag", "Job finished to webhook delivered", "ms"
    ).record(max(lag, timedelta(0)), {"event_type": event_type})
