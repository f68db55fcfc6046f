"""Plain text from markdown-ish input, sentences, words and their light stems."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from domain.writing.languages import primary, stopwords

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|__(.+?)__|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`([^`]*)`")
_HEADING = re.compile(r"(?:^|(?<=\s))#{1,6}\s+")  # "# Title" marks, never "#hashtag"
_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s")
_LIST_MARK = re.compile(r"^\s*(?:[-*+•→▶✅]|\d{1,2}[.)])\s+")
_QUOTE = re.compile(r"^\s*>+\s?")
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_TAGS = re.compile(r"</?[A-Za-z][^>]*>")
_MARKUP = re.compile(r"[*_`#\[<>]|^\s*(?:[-*_]\s*){3,}$", re.MULTILINE)

# A sentence ends at . ! ? … (and any closing quotes or brackets) before a space and a
# capital, a digit or an opening quote. The word before the mark decides abbreviations.
_END = re.compile(r"([.!?…]+)([\"'”’»)\]]*)\s+([\"'“„«(\[¿¡]?)(\w)", re.UNICODE)
_ABBREVIATIONS = frozenset(
    """e.g i.e etc vs mr mrs ms dr prof inc ltd co corp jr sr st no nr fig approx ca z.b
    d.h bzw usw vgl evtl ggf u.a s.o p.ex cf av apr aug dec feb jan jul jun mar nov oct
    sep sept dept est mio mrd""".split()
)
_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?", re.UNICODE)
_ENDINGS = (".", "!", "?", "…", ":")


def strip_markdown(text: str) -> str:
    """Markdown reduced to the words a LinkedIn reader sees (LinkedIn renders none)."""
    if not _MARKUP.search(text):
        return text.replace("\r\n", "\n")  # plain text, the usual case: nothing to do
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _RULE.match(line):
            lines.append("")
            continue
        line = _QUOTE.sub("", line)
        line = _LINK.sub(lambda m: m.group(1), line)
        line = _CODE.sub(lambda m: m.group(1), line)
        line = _TAGS.sub("", line)
        for _ in range(2):  # "**# Title**" and "# **Title**" alike
            line = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2) or m.group(3), line)
            line = _HEADING.sub("", line)
        lines.append(line.strip())
    return "\n".join(lines)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` in order, whitespace-normalised, each once.

    Paragraphs, headings and list items never run into each other; a hard-wrapped line
    goes on with the next; within a paragraph, sentences end at end marks except after
    abbreviations, initials and ordinals.
    """
    out: list[str] = []
    seen: set[str] = set()
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        for piece in _pieces(block):
            for sentence in _split_piece(piece):
                if sentence not in seen:
                    seen.add(sentence)
                    out.append(sentence)
    return out


def _pieces(block: str) -> list[str]:
    """A paragraph's lines, joined into runs of text; a heading or a list item starts a
    piece of its own, and a heading (or a short line with no end mark) ends one."""
    pieces: list[str] = []
    closed = True
    for raw in block.split("\n"):
        listed = _LIST_MARK.match(raw)
        heading = _HEADING_LINE.match(raw)
        marked = bool(listed or heading)
        line = strip_markdown(raw[listed.end() :] if listed else raw).strip()
        if not line:
            continue
        if (
            pieces
            and not closed
            and not marked
            and (line[:1].islower() or not _stands_alone(pieces[-1]))
        ):
            pieces[-1] = f"{pieces[-1]} {line}"  # a hard-wrapped sentence goes on
        else:
            pieces.append(line)
        closed = pieces[-1].endswith(_ENDINGS) or bool(heading)
    return pieces


def _stands_alone(line: str) -> bool:
    return len(line.split()) <= 8 and not line.endswith((",", ";"))


def _split_piece(piece: str) -> list[str]:
    piece = " ".join(piece.split())
    out: list[str] = []
    start = 0
    for match in _END.finditer(piece):
        if not (match.group(4).isupper() or match.group(4).isdigit()):
            continue  # "e.g. this" or "3.5 x": no new sentence before a lower-case word
        word = piece[piece.rfind(" ", 0, match.start()) + 1 : match.start()]
        word = word.lower().lstrip("(\"'“„")
        if match.group(1) == "." and (
            word in _ABBREVIATIONS
            or (len(word) == 1 and word.isalpha())  # an initial: "J. Smith", "U.S."
            or (word.isdigit() and len(word) <= 2)  # an ordinal: "am 3. Mai"
        ):
            continue
        out.append(piece[start : match.end(2)].strip())
        start = match.start(3)
    out.append(piece[start:].strip())
    return [s for s in out if s]


def words(text: str) -> list[str]:
    """The words of ``text`` as written (letters first: "B2B" yes, "1,200" no)."""
    return _WORD.findall(text)


def stem(word: str, language: str) -> str:
    """A light, language-aware stem, enough to match "calls" with "call" and
    "Kunden" with "Kunde"; not a linguistic stemmer."""
    return _stem(word, primary(language))


def _stem(word: str, lang: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if lang == "de":
        for ending in ("en", "er", "es", "em", "e", "n", "s"):
            if len(w) > 5 and w.endswith(ending):
                return w[: -len(ending)]
        return w
    if len(w) > 4 and w.endswith("es") and lang in ("fr", "es"):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def is_content_word(word: str, language: str) -> bool:
    """Not a stopword, and long enough to carry meaning (acronyms such as "AI" count)."""
    return _is_content(word, stopwords(language))


def _is_content(word: str, stop: frozenset[str]) -> bool:
    if len(word) < 4 and not (len(word) >= 2 and word.isupper()):
        return False
    return word.lower().replace("’", "'") not in stop


def content_stems(text: str, language: str, found: Sequence[str] | None = None) -> list[str]:
    """The stems of the content words of ``text`` (or of its words ``found`` already),
    each once, in order of appearance; a compound with hyphens counts with its parts
    ("Onboarding-Gespräch", "founder-led")."""
    lang = primary(language)
    stems: dict[str, None] = {}
    for word in words(text) if found is None else found:
        for part in (word, *word.split("-")) if "-" in word else (word,):
            own = _content_stem(part, lang)
            if own is not None:
                stems.setdefault(own)
    return list(stems)


@lru_cache(maxsize=1 << 16)  # words repeat across sentences and jobs; bounded memory
def _content_stem(word: str, lang: str) -> str | None:
    return _stem(word, lang) if _is_content(word, stopwords(lang)) else None
