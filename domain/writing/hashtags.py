"""Hashtags from a post's content words: the profile's own, its relevant pillar, then the
source's most repeated nouns. Never a stopword or a determiner (#Anyone, #Every)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from domain.linkedin import hashtag
from domain.writing.languages import primary
from domain.writing.text import is_content_word, stem, words

MAX_TAGS = 5
# English word endings of adverbs, participles and adjectives: poor hashtags on their own.
_EN_NOT_NOUNS = re.compile(r"(?:ly|ed|ous|ful|ive|ible|able|less|est)$")


def choose_hashtags(
    *, own: Sequence[str], pillar: str, sentences: Sequence[str], language: str
) -> list[str]:
    """Up to ``MAX_TAGS`` hashtags, unique regardless of case, in a stable order."""
    tags: list[str] = []
    seen: set[str] = set()

    def add(tag: str) -> None:
        if tag and len(tags) < MAX_TAGS and tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)

    for tag in own:
        add(tag if tag.startswith("#") else hashtag(tag))
    if pillar:
        add(hashtag(pillar))
    for word in _nouns(sentences, language):
        add(hashtag(word))
    return tags


def _nouns(sentences: Sequence[str], language: str) -> list[str]:
    """Content words likely to be nouns, most repeated first, then by first appearance;
    each in its most frequent spelling ("SaaS", not "saas")."""
    lang = primary(language)
    counts: Counter[str] = Counter()
    spelling: dict[str, Counter[str]] = {}
    for sentence in sentences:
        for index, word in enumerate(words(sentence)):
            if not is_content_word(word, language) or "'" in word or "’" in word:
                continue
            if lang == "de" and not word[0].isupper():
                continue  # German nouns are capitalised; the rest are not hashtags
            if lang == "en" and not word.isupper() and _EN_NOT_NOUNS.search(word.lower()):
                continue
            if lang == "en" and word.lower().endswith("ing") and len(word) < 8:
                continue  # "boring", "saying"; "marketing", "onboarding" stay
            key = stem(word, language)
            counts[key] += 1
            form = word if (index > 0 or word.isupper() or lang == "de") else word.lower()
            spelling.setdefault(key, Counter())[form] += 1
    ranked = sorted(counts, key=lambda key: -counts[key])  # stable: first appearance wins
    return [_spelling(spelling[key]) for key in ranked]


def _spelling(forms: Counter[str]) -> str:
    best = max(forms, key=lambda form: forms[form])
    if best.islower() and any(not f.islower() for f in forms):
        best = max((f for f in forms if not f.islower()), key=lambda f: forms[f])
    return best
