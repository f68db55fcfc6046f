"""Validation failures in the project's own words: one reason per pydantic error type.

Customers read these messages; they must not leak the validation library's phrasing
("Value error, …", "String should have at most 20000 characters").
"""

from __future__ import annotations

from typing import Any

_VALUE_ERROR_PREFIXES = ("Value error, ", "Assertion failed, ")

# error type -> reason; ``{…}`` fields come from the error's ``ctx``.
_REASONS: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "string_pattern_mismatch": "has the wrong format",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "too_short": "must have at least {min_length} entries",
    "too_long": "must have at most {max_length} entries",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "union_tag_invalid": 'must be {"text": "…"} or {"url": "https://…"}',
    "union_tag_not_found": 'must be {"text": "…"} or {"url": "https://…"}',
    "datetime_type": "must be an RFC 3339 date-time string with a time-zone offset",
    "datetime_parsing": "must be an RFC 3339 date-time with a time-zone offset",
    "datetime_from_date_parsing": "must be an RFC 3339 date-time with a time-zone offset",
    "timezone_aware": "must include a time-zone offset (e.g. Z or +01:00)",
    "json_invalid": "is not valid JSON",
    "literal_error": "is not one of the accepted values",
    "enum": "is not one of the accepted values",
}


def reason(error: dict[str, Any]) -> str:
    """Why one field failed, as a short phrase that follows the field's name."""
    kind = str(error.get("type", ""))
    if kind in ("too_short", "too_long") and isinstance(error.get("input"), str):
        kind = "string_" + kind  # a constraint applied after a validator reports this way
    template = _REASONS.get(kind)
    if template is not None:
        try:
            return template.format(**(error.get("ctx") or {}))
        except (KeyError, IndexError):
            return template.split(" {", 1)[0]
    message = str(error.get("msg", "")) or "is invalid"
    for prefix in _VALUE_ERROR_PREFIXES:
        if message.startswith(prefix):
            # Our own validators (domain/text_rules.py, api/schemas.py) raise ValueError
            # with a phrase meant for customers: keep it, drop the library's prefix.
            return message.removeprefix(prefix)
    return "is invalid"
