"""Rules for text that customers send, shared by every field that takes free text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
URL_MAX_CHARS = 2048


def check_plain_text(value: str) -> str:
    """Refuse control characters (other than tab and newlines) and unpaired surrogates:
    no database stores them faithfully and no post needs them."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError("must be valid Unicode text") from err
    return value


def check_language_tag(value: str) -> str:
    if len(value) > 35 or not _BCP47.match(value):
        raise ValueError("must be a BCP 47 language tag such as 'en' or 'de-DE'")
    return value


def check_source_url(value: str, *, allow_http: bool) -> str:
    """Shape only (scheme, host, no credentials); addresses are checked when fetching."""
    check_plain_text(value)
    if len(value) > URL_MAX_CHARS:
        raise ValueError(f"must be at most {URL_MAX_CHARS} characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port
    except ValueError as err:
        raise ValueError("must be a valid URL") from err
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not host:
        raise ValueError("must be an https:// URL with a host name")
    if parts.username or parts.password:
        raise ValueError("must not contain credentials")
    return value
