"""Habits read from the project's voice samples, so the offline post looks like theirs.

The samples are the project's own posts. The writer takes their form, never their
content: how long their sentences are (short ones get a paragraph each), which list
marker they use, which emoji they favour, and the sign-off they end with.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from domain.writing.text import split_sentences, words

_EMOJI = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\u2b50\u2b06\u2934\u2935]"
)
_LIST_LINE = re.compile(r"^\s*([-*•→▶✅]|->|\d{1,2}[.)])\s+\S")
_SIGNOFF = re.compile(r"^[—–~-]\s*\S.{0,30}$")
SHORT_SENTENCE_WORDS = 11  # at most this many words on average: one sentence a paragraph


@dataclass(frozen=True)
class Voice:
    one_sentence_paragraphs: bool = False
    list_marker: str = "→"  # "1." means a numbered list
    emoji: str = ""  # the samples' favourite, "" when they use none
    signoff: str = ""


def read_voice(samples: Sequence[str]) -> Voice:
    """The habits ``samples`` share; the defaults when there are none."""
    return _read_voice(tuple(samples)) if samples else Voice()


@lru_cache(maxsize=256)  # a project's samples change rarely; its jobs reuse the reading
def _read_voice(samples: tuple[str, ...]) -> Voice:
    sentences = [s for sample in samples for s in split_sentences(sample)]
    mean_words = sum(len(words(s)) for s in sentences) / max(1, len(sentences))
    markers: Counter[str] = Counter()
    emoji: Counter[str] = Counter()
    endings: Counter[str] = Counter()
    for sample in samples:
        for line in sample.split("\n"):
            found = _LIST_LINE.match(line)
            if found:
                marker = found.group(1)
                markers["1." if marker[0].isdigit() else marker.replace("->", "→")] += 1
        emoji.update(_EMOJI.findall(sample))
        last = next((ln.strip() for ln in reversed(sample.split("\n")) if ln.strip()), "")
        if _SIGNOFF.match(last):
            endings[last] += 1
    return Voice(
        one_sentence_paragraphs=mean_words <= SHORT_SENTENCE_WORDS,
        list_marker=_most_common(markers) or "→",
        emoji=_most_common(emoji),
        signoff=_most_common(endings),
    )


def _most_common(counts: Counter[str]) -> str:
    """The most frequent item, the first seen among equals (Counter keeps that order)."""
    return max(counts, key=lambda item: counts[item], default="")
