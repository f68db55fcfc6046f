"""What operators read about a job in the Temporal Web UI: memo, current details, causes.

Pure functions of workflow state (safe inside the workflow sandbox). Customers never see
these texts: their ``errorMessage`` is the documented one in ``contracts``; operators also
get the cause below it (the provider's answer, a timeout), which may name internals.
"""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

from contracts import JOB_ERRORS

MAX_CAUSE_CHARS = 500
# Codes a retry (a reset to the first workflow task) can fix, and what to do first: derived
# from the job error table in ``domain.job_lifecycle`` (``retry_can_fix``). The others (a
# URL that is not allowed, a page without text, data the database refuses) fail the same
# way until the request itself changes.
RETRY_CAN_FIX: dict[str, str] = {
    e.code: e.retry_can_fix for e in JOB_ERRORS if e.retry_can_fix is not None
}
_MAX_CAUSE_DEPTH = 4


def failure_cause(err: ActivityError | ApplicationError) -> str:
    """One line: which step failed, why it stopped retrying, and the chain of causes.

    e.g. ``generate_post failed (non-retryable failure): provider_rejected: The AI provider
    rejected the request. ← BadRequestError: Error code: 400 - …``
    """
    if isinstance(err, ApplicationError):  # a local activity's failure arrives unwrapped
        return _cut(f"local activity failed: {_describe(err)}")
    causes: list[str] = []
    current = err.__cause__
    while current is not None and len(causes) < _MAX_CAUSE_DEPTH:
        causes.append(_describe(current))
        current = current.__cause__
    retry_state = err.retry_state.name.replace("_", " ").lower() if err.retry_state else None
    step = f"{err.activity_type} failed" + (f" ({retry_state})" if retry_state else "")
    return _cut(f"{step}: {' ← '.join(causes) or err.message}")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CAUSE_CHARS else text[: MAX_CAUSE_CHARS - 1] + "…"


def _describe(error: BaseException) -> str:
    if isinstance(error, ApplicationError):
        return f"{error.type or 'error'}: {error.message}"
    if isinstance(error, TimeoutError):
        kind = error.type.name.replace("_", " ").lower() if error.type else "timeout"
        return f"{kind} timeout"
    return f"{type(error).__name__}: {error}"


def failure_memo(*, code: str, message: str, cause: str | None) -> dict[str, str]:
    """The memo of a FAILED job: stored by the server, readable with no worker running."""
    memo = {
        "status": "FAILED",
        "stage": f"Failed: {code}",
        "errorCode": code,
        "errorMessage": message,
    }
    if cause:
        memo["cause"] = cause
    return memo


def failure_details(*, job_id: str, code: str, message: str, cause: str | None) -> str:
    """Current details (markdown) of a FAILED job: why, and how to retry it when a retry
    can help."""
    lines = [f"**Failed** · `{code}`", message]
    if cause:
        lines.append(f"**Cause** {cause}")
    if code in RETRY_CAN_FIX:
        lines.append(
            "**Retry** Reset to the first WorkflowTaskCompleted event, "
            f"or run `scripe jobs retry {job_id}`.{RETRY_CAN_FIX[code]}"
        )
    else:
        lines.append("**No retry** A retry would fail the same way: the request must change.")
    return "\n\n".join(lines)
