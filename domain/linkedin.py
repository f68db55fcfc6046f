"""LinkedIn conventions every post leaves with, whoever wrote it.

A hook as the first line, short paragraphs separated by blank lines, plain text (LinkedIn
renders no markdown), at most 3,000 characters, hashtags only at the end and only when asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

LINKEDIN_MAX_CHARS = 3000
TITLE_MAX_CHARS = 120
_HASHTAG_LINE = re.compile(r"^(#[\w-]+\s*)+$", re.UNICODE)


def hashtag(word: str) -> str:
    """``"content marketing"`` → ``"#ContentMarketing"``."""
    parts = re.findall(r"[^\W_]+", word, re.UNICODE)
    return "#" + "".join(p[:1].upper() + p[1:] for p in parts) if parts else ""


def finalize_post(text: str, *, max_length: int, hashtags: Sequence[str] | None) -> tuple[str, str]:
    """Clean a draft into (title, content) that follows the conventions above.

    ``hashtags`` None removes a trailing hashtag line; a list replaces it with the list
    (or keeps the writer's own when the list is empty).
    """
    limit = min(max_length, LINKEDIN_MAX_CHARS)
    lines = [_plain(line) for line in text.replace("\r\n", "\n").split("\n")]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines)) if p.strip()]
    own_tags = ""
    if paragraphs and _HASHTAG_LINE.match(paragraphs[-1].replace("\n", " ")):
        own_tags = " ".join(paragraphs.pop().split())
    tag_line = ""
    if hashtags is not None:
        tag_line = " ".join(dict.fromkeys(t for t in hashtags if t)) or own_tags
    body = _fit(paragraphs, limit - (len(tag_line) + 2 if tag_line else 0))
    content = body + (f"\n\n{tag_line}" if tag_line and body else tag_line)
    if len(content) > limit:  # the tags alone do not fit: drop them
        content = body[:limit]
    return make_title(content), content


def make_title(content: str) -> str:
    first = next((line.strip() for line in content.split("\n") if line.strip()), "")
    if len(first) <= TITLE_MAX_CHARS:
        return first
    cut = first[: TITLE_MAX_CHARS - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _plain(line: str) -> str:
    line = re.sub(r"^\s{0,3}#{1,6}\s+", "", line)  # markdown heading marks (not hashtags)
    line = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), line)
    return line.rstrip()


def _fit(paragraphs: list[str], limit: int) -> str:
    """Drop whole paragraphs from the end (keeping hook and closing line) until it fits."""
    kept = list(paragraphs)
    while len(kept) > 2 and len("\n\n".join(kept)) > limit:
        del kept[-2]
    text = "\n\n".join(kept)
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)].rsplit(" ", 1)[0]
    return cut + "…" if cut else text[:limit]
