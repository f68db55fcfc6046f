"""What of the project's knowledge base and content pillars a post may cite.

The passages arrive ranked by BM25, which scores any shared word. Here a knowledge-base
sentence is relevant only when it shares at least ``MIN_SHARED`` content words (stems,
stopwords excluded) with the source and those make up at least ``MIN_SHARE`` of its own
content words: a passage about retries never joins a post about hiring because both
say "every".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from contracts import KnowledgePassage
from domain.writing.text import content_stems, split_sentences, strip_markdown

MIN_SHARED = 2
MIN_SHARE = 0.25
INSIGHT_MAX_CHARS = 280
_FUSED_HEADING = re.compile(r"^\s*(?:\*\*|__)?\s*#{1,6}\s+")
_TITLE_WORD = re.compile(r"\S+")


def relevant_insight(
    passages: Sequence[KnowledgePassage], source_stems: Sequence[str], language: str
) -> str:
    """The knowledge-base sentence most related to the source, markdown stripped, or ""."""
    wanted = set(source_stems)
    best, best_shared = "", 0
    for passage in passages:
        for sentence in split_sentences(_without_heading(passage)):
            if len(sentence) > INSIGHT_MAX_CHARS or len(sentence.split()) < 5:
                continue
            own = content_stems(sentence, language)
            shared = sum(1 for s in own if s in wanted)
            if shared >= MIN_SHARED and shared >= MIN_SHARE * len(own) and shared > best_shared:
                best, best_shared = sentence, shared
    return best


def relevant_pillar(pillars: Sequence[str], source_stems: Sequence[str], language: str) -> str:
    """The content pillar sharing most content words with the source (the first among
    equals), or "" when none shares any."""
    wanted = set(source_stems)
    best, best_shared = "", 0
    for pillar in pillars:
        shared = sum(1 for s in content_stems(pillar, language) if s in wanted)
        if shared > best_shared:
            best, best_shared = pillar, shared
    return best


def _without_heading(passage: KnowledgePassage) -> str:
    """The passage's text without a leading markdown heading.

    Passages are cut with their whitespace collapsed, so a document's "# Title" line runs
    into its first sentence ("# Retention playbook Customers who…"). The heading is the
    document title when it repeats it; otherwise it ends where a capitalised word follows a
    lower-case one, and a heading with no such end is dropped with its sentence.
    """
    text = passage.text
    marked = _FUSED_HEADING.match(text)
    if not marked:
        return strip_markdown(text)
    rest = strip_markdown(text[marked.end() :]).strip()
    rest = re.sub(r"^(?:\*\*|__)\s*", "", rest)
    title = " ".join(strip_markdown(passage.document_title).split())
    if title and rest.lower().startswith(title.lower()):
        return rest[len(title) :].lstrip(" *_:-—")
    tokens = list(_TITLE_WORD.finditer(rest))
    for previous, current in zip(tokens[:9], tokens[1:10], strict=False):
        if previous.group(0)[-1:].islower() and current.group(0)[:1].isupper():
            return rest[current.start() :]
    parts = split_sentences(rest)
    return " ".join(parts[1:])
