"""The public error family: one class per documented code, each pinning its HTTP status.

Raised by services and the API alike; ``api/errors.py`` turns any of them into the error
envelope ``{"error": {"code", "message", "request_id", "docs_url", "details"?, "meta"?}}``.
Part of the project's error vocabulary (``domain/errors.py``): add a code by adding a
subclass here (``ALL_ERRORS`` picks it up) and a row in docs/api.md's error table.
"""

from __future__ import annotations

from typing import Any, ClassVar

from domain.errors import ScripeError


class ApiError(ScripeError):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Something went wrong on our side."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        self.meta = meta
        self.headers = headers or {}
        super().__init__(self.message)


class InvalidRequest(ApiError):
    status_code, code = 400, "invalid_request"
    default_message = "The request is not valid."


class BadPagination(ApiError):
    status_code, code = 400, "bad_pagination"
    default_message = "limit must be a whole number, 1 or more (over 200 counts as 200)."


class BadCursor(ApiError):
    status_code, code = 400, "bad_cursor"
    default_message = "The cursor is not valid for this list."


class VersionUnsupported(ApiError):
    status_code, code = 400, "version_unsupported"
    default_message = "This API version is not supported."


class InvalidToken(ApiError):
    status_code, code = 401, "invalid_token"
    default_message = "Provide a valid API key as 'Authorization: Bearer scripe_sk_…'."


class KeyRevoked(ApiError):
    status_code, code = 401, "key_revoked"
    default_message = "This API key has been revoked."


class KeyExpired(ApiError):
    status_code, code = 401, "key_expired"
    default_message = "This API key has expired."


class SpendCapExceeded(ApiError):
    status_code, code = 402, "spend_cap_exceeded"
    default_message = "The job's spend estimate does not fit in the workspace's daily AI spend cap."


class NotFound(ApiError):
    status_code, code = 404, "not_found"
    default_message = "No such resource."


class MethodNotAllowed(ApiError):
    status_code, code = 405, "method_not_allowed"
    default_message = "This method is not allowed on this route."


class IdempotencyKeyConflict(ApiError):
    status_code, code = 409, "idempotency_key_conflict"
    default_message = (
        "This Idempotency-Key was used in the last 24 hours with a different request body."
    )


class NotCancellable(ApiError):
    status_code, code = 409, "not_cancellable"
    default_message = "Only QUEUED jobs can be cancelled."


class PayloadTooLarge(ApiError):
    status_code, code = 413, "payload_too_large"
    default_message = "The request body is larger than 256 KB."


class Unprocessable(ApiError):
    status_code, code = 422, "unprocessable"
    default_message = "The request is well formed but breaks a business rule."


class RateLimited(ApiError):
    status_code, code = 429, "rate_limited"
    default_message = "Too many requests for this workspace; retry after the indicated time."


class InternalError(ApiError):
    status_code, code = 500, "internal_error"


class ServiceUnavailable(ApiError):
    status_code, code = 503, "service_unavailable"
    default_message = "The service is temporarily unavailable; retry shortly."

    def __init__(self, message: str | None = None, *, retry_after: int = 2, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(retry_after))


class ProviderNotConfigured(ApiError):
    """A live key while no AI provider is configured: a live key never gets the offline
    writer's post (nor a bill for it)."""

    status_code, code = 503, "provider_not_configured"
    default_message = (
        "Live mode is not available: no AI provider is configured on this server. "
        "Use a test key (scripe_sk_test_…) or ask the operator to set SCRIPE_OPENAI_API_KEY."
    )


# Every documented code, in the order the classes are defined above (the order the
# OpenAPI document and docs/api.md list them): derived, so a new class cannot be forgotten.
ALL_ERRORS: tuple[type[ApiError], ...] = tuple(
    cls for cls in ApiError.__subclasses__() if cls.__module__ == __name__
)
