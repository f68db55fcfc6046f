"""Query-parameter parsing shared by list routes (errors name the parameter)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from api.schemas import EARLIEST_INSTANT
from services.errors import BadPagination, InvalidRequest
from services.pagination import DEFAULT_LIMIT, MAX_LIMIT

# Filters name days jobs could have been created on; anything past this is a typo.
LATEST_YEAR = 9000


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError as err:
        raise BadPagination(details={"field": "limit"}) from err
    if value < 1:
        raise BadPagination(details={"field": "limit"})
    return min(value, MAX_LIMIT)


def enum_list(field: str, raw: str | None, allowed: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    values = tuple(dict.fromkeys(v.strip() for v in raw.split(",")))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise InvalidRequest(
            f"{field}: unknown value {unknown[0]!r}",
            details={"field": field, "reason": "unknown value", "accepted": allowed},
        )
    return values


def date_bound(field: str, raw: str | None, *, end_of_day: bool) -> datetime | None:
    if raw is None:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            value = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as err:
        raise InvalidRequest(
            f"{field}: must be an ISO date or date-time",
            details={"field": field, "reason": "must be an ISO date or date-time"},
        ) from err
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        # An instant with no UTC form (9999-12-31T23:59:59-01:00) is refused here, never
        # passed to the database.
        in_utc = value.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or in_utc < EARLIEST_INSTANT or in_utc.year > LATEST_YEAR:
        reason = f"must be from 2000-01-01 to {LATEST_YEAR}-12-31 (UTC)"
        raise InvalidRequest(f"{field}: {reason}", details={"field": field, "reason": reason})
    return in_utc
