"""Every failure of the ``openai`` SDK as the job's documented failure type.

* ``provider_rejected`` (not retryable): the provider will answer the same to the same
  request: 400, 401, 403, 404, 409, 422, a content filter, and the billing refusals (402
  Payment Required, 413 Payload Too Large, 429 with code ``insufficient_quota``);
* ``provider_unavailable`` (retryable): connection errors, timeouts, 429 rate limits (with
  their Retry-After as the next retry delay), 5xx and any other status;
* ``generation_failed`` (retryable): a malformed answer (also a plain ``ValueError`` while
  reading it) or an SDK error of no other kind.

``SDK_ERROR_TYPES`` names every exception class the SDK exports: a new class in a new SDK
version fails a unit test until it is given a type here.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts import GENERATION_FAILED, JOB_ERROR_MESSAGES, PROVIDER_REJECTED, PROVIDER_UNAVAILABLE

if TYPE_CHECKING:
    import openai

# Statuses that mean "this request will never be served", whatever the SDK class.
REJECTED_STATUSES = frozenset({400, 401, 402, 403, 404, 409, 413, 422})
QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})
RETRY_AFTER_MAX_SECONDS = 120


@functools.cache
def sdk_error_types() -> dict[type[BaseException], str]:
    """The failure type of each exception class the SDK exports, by name."""
    import openai  # loaded already with the client (connections.make_openai_client)

    by_name = {
        "OpenAIError": GENERATION_FAILED,
        "APIError": GENERATION_FAILED,
        "APIResponseValidationError": GENERATION_FAILED,
        "LengthFinishReasonError": GENERATION_FAILED,
        "ContentFilterFinishReasonError": PROVIDER_REJECTED,
        "InvalidWebhookSignatureError": GENERATION_FAILED,
        "WebSocketConnectionClosedError": PROVIDER_UNAVAILABLE,
        "WebSocketQueueFullError": PROVIDER_UNAVAILABLE,
        "_AmbiguousModuleClientUsageError": GENERATION_FAILED,
        "APIConnectionError": PROVIDER_UNAVAILABLE,
        "APITimeoutError": PROVIDER_UNAVAILABLE,
        "APIStatusError": PROVIDER_UNAVAILABLE,
        "InternalServerError": PROVIDER_UNAVAILABLE,
        "RateLimitError": PROVIDER_UNAVAILABLE,
        "BadRequestError": PROVIDER_REJECTED,
        "AuthenticationError": PROVIDER_REJECTED,
        "OAuthError": PROVIDER_REJECTED,
        "PermissionDeniedError": PROVIDER_REJECTED,
        "NotFoundError": PROVIDER_REJECTED,
        "ConflictError": PROVIDER_REJECTED,
        "UnprocessableEntityError": PROVIDER_REJECTED,
    }
    return {
        getattr(openai, name): error_type
        for name, error_type in by_name.items()
        if isinstance(getattr(openai, name, None), type)
    }


def error_type_of(err: BaseException) -> str | None:
    """The failure type of an SDK exception (by its class, then its status and code);
    None for an exception that is not the SDK's."""
    import openai

    if isinstance(err, openai.APIStatusError):
        if err.status_code in REJECTED_STATUSES or _quota_code(err) in QUOTA_CODES:
            return PROVIDER_REJECTED
    for cls in type(err).__mro__:
        found = sdk_error_types().get(cls)
        if found is not None:
            return found
    if isinstance(err, ValueError):
        return GENERATION_FAILED  # an answer the SDK could not read (e.g. broken JSON)
    return None


def provider_failure(err: BaseException) -> ApplicationError | None:
    """The ApplicationError to raise for a failed provider call (None: not the SDK's)."""
    import openai

    error_type = error_type_of(err)
    if error_type is None:
        return None
    if error_type == PROVIDER_REJECTED:
        activity.logger.warning("provider rejected the request: %s", err)
        return ApplicationError(
            JOB_ERROR_MESSAGES[PROVIDER_REJECTED], type=PROVIDER_REJECTED, non_retryable=True
        )
    if error_type == PROVIDER_UNAVAILABLE:
        if isinstance(err, openai.RateLimitError):
            return ApplicationError(
                "The AI provider is rate limiting us.",
                type=PROVIDER_UNAVAILABLE,
                next_retry_delay=_retry_after(err),
            )
        return ApplicationError(
            f"The AI provider failed: {type(err).__name__}", type=PROVIDER_UNAVAILABLE
        )
    return ApplicationError(
        f"The AI provider sent a malformed answer: {type(err).__name__}", type=GENERATION_FAILED
    )


def _quota_code(err: openai.APIStatusError) -> str | None:
    """``code`` of the error body (``{"error": {"code": ...}}``, or the body itself)."""
    code = getattr(err, "code", None)
    if code:
        return str(code)
    body = err.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("code"):
            return str(inner["code"])
    return None


def _retry_after(err: openai.RateLimitError) -> timedelta | None:
    header = err.response.headers.get("retry-after") if err.response is not None else None
    try:
        seconds = float(header) if header is not None else None
    except ValueError:
        seconds = None
    if not seconds or seconds <= 0:
        return None
    return timedelta(seconds=min(seconds, RETRY_AFTER_MAX_SECONDS))
