"""What of the project's knowledge base and content pillars a post may cite.

The passages arrive ranked by BM25, which scores any shared word. Here a knowledge-base
sentence is relevant only when it shares at least ``MIN_SHARED`` content words (stems,
stopwords excluded) with the source and those make up at least ``MIN_SHARE`` of its own
content words: a passage about retries never joins a post about hiring because both
say "every".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from contracts import KnowledgePassage
from domain.writing.languages import detect_language, primary
from domain.writing.text import content_stems, split_sentences, strip_markdown, words

MIN_SHARED = 2
MIN_SHARE = 0.25
INSIGHT_MAX_CHARS = 280
_FUSED_HEADING = re.compile(r"^\s*(?:\*\*|__)?\s*#{1,6}\s+")
_TITLE_WORD = re.compile(r"\S+")


def relevant_insight(
    passages: Sequence[KnowledgePassage],
    source_stems: Sequence[str],
    language: str,
    *,
    project_language: str,
) -> str:
    """The knowledge-base sentence most related to the source, markdown stripped, in the
    post's language (a sentence too short to tell is taken to be in the project's), or ""."""
    wanted = set(source_stems)
    best, best_shared = "", 0
    for passage in passages:
        for sentence, own in _candidates(passage, primary(language), primary(project_language)):
            shared = sum(1 for s in own if s in wanted)
            if shared >= MIN_SHARED and shared >= MIN_SHARE * len(own) and shared > best_shared:
                best, best_shared = sentence, shared
    return best


def relevant_pillar(
    pillars: Sequence[str], source_stems: Sequence[str], language: str, *, sentences: int
) -> str:
    """The content pillar sharing most content words with the source (the first among
    equals), or "". A pillar is relevant when the source shares at least half of its
    content words and, in a source of more than two sentences, comes back to them
    (``source_stems`` holds each sentence's stems): "Customer retention" for a post about
    customers, not for one that says "customer" once in passing."""
    counts = Counter(source_stems)
    best, best_shared = "", 0
    for pillar in pillars:
        own = content_stems(pillar, language)
        shared = [s for s in own if counts[s]]
        if len(shared) <= best_shared or 2 * len(shared) < len(own):
            continue
        if sentences > 2 and sum(counts[s] for s in shared) < 2:
            continue
        best, best_shared = pillar, len(shared)
    return best


@lru_cache(maxsize=1024)  # a project's passages come back with each of its jobs
def _candidates(
    passage: KnowledgePassage, language: str, project_language: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The passage's citable sentences in ``language``, each with its content stems."""
    out = []
    for sentence in split_sentences(_without_heading(passage)):
        if len(sentence) > INSIGHT_MAX_CHARS or len(sentence.split()) < 5:
            continue
        written_in = detect_language(w.lower() for w in words(sentence)) or project_language
        if primary(written_in) == language:
            out.append((sentence, tuple(content_stems(sentence, language))))
    return tuple(out)


def _without_heading(passage: KnowledgePassage) -> str:
    """The passage's text without a leading markdown heading.

    Passages are cut with their whitespace collapsed, so a document's "# Title" line runs
    into its first sentence ("# Retention playbook Customers who…"). The heading is the
    document title when it repeats it; otherwise it ends where a capitalised word follows a
    lower-case one, and a heading with no such end is dropped with its sentence.
    """
    rest = strip_markdown(passage.text).strip()
    if not _FUSED_HEADING.match(passage.text):
        return rest
    title = " ".join(strip_markdown(passage.document_title).split())
    if title and rest.lower().startswith(title.lower()):
        return rest[len(title) :].lstrip(" *_:-—")
    tokens = list(_TITLE_WORD.finditer(rest))
    for previous, current in zip(tokens[:9], tokens[1:10], strict=False):
        if previous.group(0)[-1:].islower() and current.group(0)[:1].isupper():
            return rest[current.start() :]
    parts = split_sentences(rest)
    return " ".join(parts[1:])
