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
# Words after which a noun follows ("a post", "our team", "la stratégie"): in languages
# that do not capitalise nouns, a hashtag word must follow one of these at least once.
_NOUN_BEFORE: dict[str, frozenset[str]] = {
    "en": frozenset(
        """a an the our your their my his her its this these those every each one no any
        some many few more most first new""".split()
    ),
    "fr": frozenset(
        "le la les l un une des du au aux notre nos votre vos leur leurs ce cette ces".split()
    ),
    "es": frozenset(
        "el la los las un una unos unas del al nuestro nuestra nuestros nuestras su sus "
        "este esta".split()
    ),
}
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
    evidence: set[str] = set()
    before = _NOUN_BEFORE.get(lang)
    for sentence in sentences:
        found = words(sentence)
        for index, word in enumerate(found):
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
            if word.isupper() or (index > 0 and word[0].isupper()):
                evidence.add(key)  # an acronym, a name, or a German noun mid-sentence
            form = word if (index > 0 or word.isupper() or lang == "de") else word.lower()
            spelling.setdefault(key, Counter())[form] += 1
        if before is not None:
            evidence.update(stem(head, language) for head in _phrase_heads(found, before, language))
    ranked = [k for k in sorted(counts, key=lambda k: -counts[k]) if k in evidence]
    return [_spelling(spelling[key]) for key in ranked]


def _phrase_heads(found: Sequence[str], before: frozenset[str], language: str) -> list[str]:
    """The noun of each run of content words after a determiner: in English the last
    ("a sales call" → "call": the words before it are modifiers), in French and Spanish
    the first ("des séquences automatisées" → "séquences": adjectives follow)."""
    last = primary(language) == "en"
    heads = []
    for index, word in enumerate(found):
        if word.lower() not in before:
            continue
        run: list[str] = []
        after = ""
        for following in found[index + 1 : index + 4]:
            if not is_content_word(following, language) or len(run) == 2:
                after = following.lower()
                break
            run.append(following)
        if run and after not in ("one", "ones"):  # "a clever one": an adjective
            heads.append(run[-1] if last else run[0])
    return heads


def _spelling(forms: Counter[str]) -> str:
    best = max(forms, key=lambda form: forms[form])
    if best.islower() and any(not f.islower() for f in forms):
        best = max((f for f in forms if not f.islower()), key=lambda f: forms[f])
    return best
