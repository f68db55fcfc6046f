"""Knowledge-base passages: how documents are cut, and which passages fit a source.

Ranking is BM25 over word tokens. It needs no model and no network, is deterministic, and
is good enough to pick the few passages that share a source's vocabulary.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

PASSAGE_CHARS = 700
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)
_STOPWORDS = frozenset(
    """the and for are but not you your with this that from have has had was were will
    what when where which who why how our ours their they them then than there these those
    into onto over under about after before because been being can could should would
    also just more most much many some such very only other its it's it's all any each
    der die das und ist nicht ein eine einer eines mit für auf von den dem des sich auch
    wir ihr sie ich du wie was wer wenn aber oder noch nur bei aus zum zur dass hat sind
    les des une est pas pour que qui dans sur par avec son ses aux los las por con para""".split()
)


def tokens(text: str) -> list[str]:
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOPWORDS]


def split_passages(text: str, *, max_chars: int = PASSAGE_CHARS) -> list[str]:
    """Cut a document into passages of whole paragraphs (or sentences) up to ``max_chars``."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
            continue
        pieces.extend(_sentences_packed(paragraph, max_chars))
    passages: list[str] = []
    for piece in pieces:
        if passages and len(passages[-1]) + 1 + len(piece) <= max_chars // 2:
            passages[-1] = f"{passages[-1]} {piece}"  # merge crumbs such as headings
        else:
            passages.append(piece)
    return passages


def _sentences_packed(paragraph: str, max_chars: int) -> list[str]:
    out: list[str] = []
    current = ""
    for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
        while len(sentence) > max_chars:  # a run-on "sentence": cut it hard
            out.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if current and len(current) + 1 + len(sentence) > max_chars:
            out.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        out.append(current)
    return out


def rank_passages(query: str, passages: Sequence[str], *, top_k: int = 3) -> list[int]:
    """Indexes of the ``top_k`` passages most relevant to ``query`` (BM25, k1=1.5, b=0.75)."""
    query_terms = set(tokens(query))
    if not query_terms or not passages:
        return []
    docs = [tokens(p) for p in passages]
    avg_len = sum(len(d) for d in docs) / len(docs) or 1.0
    doc_freq: Counter[str] = Counter()
    for doc in docs:
        doc_freq.update(set(doc) & query_terms)
    scores: list[tuple[float, int]] = []
    for index, doc in enumerate(docs):
        counts = Counter(doc)
        score = 0.0
        for term in query_terms:
            tf = counts.get(term, 0)
            if not tf:
                continue
            idf = math.log(1 + (len(docs) - doc_freq[term] + 0.5) / (doc_freq[term] + 0.5))
            score += idf * tf * 2.5 / (tf + 1.5 * (0.25 + 0.75 * len(doc) / avg_len))
        if score > 0:
            scores.append((score, index))
    scores.sort(key=lambda pair: (-pair[0], pair[1]))
    return [index for _, index in scores[:top_k]]
