"""The offline writer: a deterministic LinkedIn draft with no model and no network.

It serves test-mode keys (``activities.llm`` decides who gets it), so the whole product
runs on a fresh machine, and its post is the first one every new user reads. It is extractive, so it
cannot invent a fact: every sentence is the source's, the knowledge base's, the profile's
(call to action, sign-off) or one of the fixed framing phrases in ``domain.writing.phrases``.

The post: a hook (the source's strongest claim, or its first sentence for a story hook,
or the project's pillar as a question), a tone line, the source's best sentences in the
source's order as short paragraphs (a list for the last few of a long article), one
knowledge-base sentence when it shares the source's content words, a pillar tie-in, the
call to action and sign-off in the post's language, and hashtags from content words.
Everything fits ``maxLength``: the parts that matter most are kept first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from contracts import GenerationOptions, ProjectContext
from domain.linkedin import LINKEDIN_MAX_CHARS, finalize_post
from domain.writing.hashtags import choose_hashtags
from domain.writing.knowledge import relevant_insight, relevant_pillar
from domain.writing.languages import primary
from domain.writing.phrases import Phrases, phrases_for
from domain.writing.text import content_stems, split_sentences, words
from domain.writing.tone import Tone, read_tone
from domain.writing.voice import Voice, read_voice

HOOK_MAX = 150
TARGET_CHARS = 1500  # a LinkedIn post reads best around 1,200–1,800 characters
MAX_BODY_SENTENCES = 9
PAIR_MAX_CHARS = 220  # two sentences share a paragraph only when short together
LIST_ITEM_MAX = 160
_TONE_EMOJI = {Tone.PLAYFUL: "😄", Tone.INSPIRING: "🚀"}
# First words that point back at an earlier sentence: such a sentence cannot open a post.
_DANGLING = frozenset(
    """but and so this that these those it they however also then which because or yet
    still he she there aber und doch das dies diese dieser es sie er dann deshalb also
    denn oder trotzdem mais et donc cela ça ce ces il elle ils alors puis ou pero y así
    esto eso estos ello él ella ellos entonces o""".split()
)
# Last words that point back ("…more complicated than that."): the same.
_POINTING_END = frozenset("that this these those das dies cela ça eso esto".split())
# Words that answer an earlier sentence wherever they stand ("kostet aber weniger"): a
# hook with one reads as the middle of an argument.
_ANSWERING = frozenset(
    """however therefore also too aber trotzdem deshalb jedoch dennoch auch mais pourtant
    donc aussi pero también embargo""".split()
)


@dataclass(frozen=True)
class _Sentence:
    index: int
    text: str
    score: float
    stems: tuple[str, ...]
    is_body: bool  # a sentence, not a heading or a crumb
    points_back: bool  # opens with a word that needs the sentence before ("But", "It")
    answers: bool  # answers an earlier sentence somewhere ("however", "aber")


def write_offline(
    *, context: ProjectContext, source_text: str, options: GenerationOptions, language: str
) -> tuple[str, str]:
    """Return (title, content) of a draft for ``source_text`` in the project's voice."""
    limit = min(options.max_length or LINKEDIN_MAX_CHARS, LINKEDIN_MAX_CHARS)
    profile = context.tone_profile
    phrases = phrases_for(language)
    tone = read_tone(options.tone, profile)
    voice = read_voice(context.voice_samples)
    we = str(profile.get("person", "")).lower() == "we" or (
        "person" not in profile and context.project_type == "COMPANY_PAGE"
    )

    sentences = _scored(source_text, language)
    source_stems = [s for sentence in sentences for s in sentence.stems]
    # Pillars are written in the project's language: a post in another one does not quote
    # them mid-sentence.
    same_language = primary(context.language or "en") == primary(language)
    pillar = (
        relevant_pillar(context.pillars, source_stems, language, sentences=len(sentences))
        if same_language
        else ""
    )
    hook, lead = _hook(sentences, str(profile.get("hook_style", "bold_claim")), pillar, phrases)
    used = {hook.index} if hook else set()
    body = [s for s in sentences if s.index not in used and s.is_body]

    closing = _closing(context, language, phrases, tone, voice)
    tags: list[str] | None = None
    if options.include_hashtags:
        own = profile.get("hashtags")
        tags = choose_hashtags(
            own=[str(t) for t in own] if isinstance(own, list) else [],
            pillar=pillar,
            sentences=[s.text for s in sentences],
            language=language,
        )

    insight = relevant_insight(
        context.passages, source_stems, language, project_language=context.language or "en"
    )
    extras: dict[str, str] = {}
    if phrases and tone in phrases.bridge and body:  # a tone line leads into a body
        extras["bridge"] = phrases.bridge[tone]
    if insight:
        template = (phrases.insight_we if we else phrases.insight_i) if phrases else "{insight}"
        extras["insight"] = template.format(insight=insight)
    if pillar and phrases:
        template = phrases.pillar_we if we else phrases.pillar_i
        extras["pillar"] = template.format(pillar=_inline(pillar, language))

    head = [lead[0]] + ([lead[1]] if len(lead) > 1 else [])
    fixed = sum(len(p) + 2 for p in head + [closing]) + (len(" ".join(tags)) + 2 if tags else 0)
    chosen, kept = _fit(
        body, extras, budget=min(limit, TARGET_CHARS) - fixed, hook=hook.index if hook else -1
    )

    paragraphs = [head[0]]
    if "bridge" in kept:
        paragraphs.append(kept["bridge"])
    paragraphs += head[1:]
    paragraphs += _body_paragraphs(chosen, voice, tone, phrases)
    paragraphs += [kept[k] for k in ("insight", "pillar") if k in kept]
    if closing:
        paragraphs.append(closing)
    return finalize_post("\n\n".join(paragraphs), max_length=limit, hashtags=tags)


def _scored(source_text: str, language: str) -> list[_Sentence]:
    """The source's sentences, each scored by how much of the source's vocabulary it
    carries, whether it has a number, and how early it comes."""
    texts = [s for s in split_sentences(source_text) if not _only_hashtags(s)]
    found = [words(t) for t in texts]
    texts = [t for t, w in zip(texts, found, strict=True) if w]
    found = [w for w in found if w]
    if not texts and source_text.strip():
        texts = [" ".join(source_text.split())]
        found = [words(texts[0]) or [""]]
    stems = [content_stems(t, language, w) for t, w in zip(texts, found, strict=True)]
    frequency = Counter(s for own in stems for s in own)
    scored = []
    for index, (text, own, its_words) in enumerate(zip(texts, stems, found, strict=True)):
        value = sum(min(frequency[s], 4) for s in own) / math.sqrt(len(own) + 1)
        value += 1.5 if re.search(r"\d", text) else 0.0  # concrete numbers hook readers
        value += max(0.0, 1.0 - index * 0.1)  # the lead usually carries the point
        value -= 1.0 if len(text) > 300 or len(text) < 25 else 0.0
        lowered = [w.lower() for w in its_words]
        scored.append(
            _Sentence(
                index,
                text,
                value,
                tuple(own),
                is_body=len(its_words) >= 6
                or (len(its_words) >= 3 and text.endswith((".", "!", "?", "…", '"', "”"))),
                points_back=lowered[0] in _DANGLING or lowered[-1] in _POINTING_END,
                answers=any(w in _ANSWERING for w in lowered),
            )
        )
    return scored


def _hook(
    sentences: Sequence[_Sentence], style: str, pillar: str, phrases: Phrases | None
) -> tuple[_Sentence | None, list[str]]:
    """The hook sentence and the lines that open the post (the hook line, and the rest
    of a hook too long for one line, or the claim under a pillar question)."""
    if not sentences:
        return None, [""]
    openers = [s for s in sentences if s.is_body and not s.points_back] or list(sentences)
    if style == "story":
        chosen = openers[0]
    elif style == "question":
        question = next(
            (s for s in openers if s.text.endswith("?") and len(s.text) <= HOOK_MAX), None
        )
        if question is None and pillar and phrases:
            claim = max(openers, key=_hook_score)
            return claim, [phrases.question_hook.format(pillar=pillar), claim.text]
        chosen = question or max(openers, key=_hook_score)
    else:
        chosen = max(openers, key=_hook_score)
    return chosen, _split_hook(chosen.text)


def _hook_score(sentence: _Sentence) -> tuple[float, int]:
    value = sentence.score - (3.0 if len(sentence.text) > HOOK_MAX else 0.0)
    value -= 0.5 if sentence.text.endswith((":", "?")) else 0.0
    value -= 1.5 if sentence.answers else 0.0
    return (value, -sentence.index)  # max(): the earliest among equals


def _split_hook(text: str) -> list[str]:
    """A hook longer than a line: the first clause, then the rest ("…" marks the join)."""
    if len(text) <= HOOK_MAX:
        return [text]
    window = text[: HOOK_MAX - 1]
    cut = max((window.rfind(mark) for mark in (", ", "; ", ": ", " – ", " — ")), default=-1)
    if cut < 40:
        cut = window.rfind(" ")
    if cut <= 0:
        return [text]
    return [text[:cut].rstrip(",;:–— ") + "…", "…" + text[cut:].lstrip(",;:–— ")]


def _only_hashtags(text: str) -> bool:
    return text.startswith("#") and bool(re.fullmatch(r"(?:#[\w-]+\s*)+", text))


def _fit(
    body: Sequence[_Sentence], extras: dict[str, str], *, budget: int, hook: int
) -> tuple[list[_Sentence], dict[str, str]]:
    """The body sentences and extras that fit ``budget``, most valuable first: the two
    strongest sentences, the tone line and the knowledge-base sentence, two more, the
    pillar tie-in, then the rest. A sentence that points back ("But…", "It…") comes only
    with the sentence before it."""
    by_index = {s.index: s for s in body}
    ranked = sorted(body, key=lambda s: (-s.score, s.index))[:MAX_BODY_SENTENCES]
    order: list[_Sentence | str] = [*ranked[:2], "bridge", "insight", *ranked[2:4], "pillar"]
    order += ranked[4:]
    chosen: dict[int, _Sentence] = {}
    kept: dict[str, str] = {}
    used = 0
    for item in order:
        if isinstance(item, str):
            text = extras.get(item, "")
            if text and used + len(text) + 2 <= budget:
                used += len(text) + 2
                kept[item] = text
            continue
        unit = _with_antecedent(item, by_index, chosen, hook)
        cost = sum(len(s.text) + 2 for s in unit)
        if unit and used + cost <= budget:
            used += cost
            chosen.update((s.index, s) for s in unit)
    return [chosen[i] for i in sorted(chosen)], kept


def _with_antecedent(
    sentence: _Sentence, by_index: dict[int, _Sentence], chosen: dict[int, _Sentence], hook: int
) -> list[_Sentence]:
    """``sentence`` with what it needs before it: nothing, its predecessor, or (when that
    is missing or points back too) nothing at all."""
    if sentence.index in chosen:
        return []
    previous = sentence.index - 1
    if not sentence.points_back or previous in chosen or previous == hook:
        return [sentence]
    before = by_index.get(previous)
    if before is None or (
        before.points_back and before.index - 1 not in chosen and before.index - 1 != hook
    ):
        return []
    return [before, sentence]


def _body_paragraphs(
    chosen: Sequence[_Sentence], voice: Voice, tone: Tone, phrases: Phrases | None
) -> list[str]:
    """Short paragraphs in the source's order: one sentence each when the voice samples
    write short sentences or the tone is playful or bold, else pairs of adjacent short
    sentences; a long article's last few make a list in the samples' list style."""
    listed: list[_Sentence] = []
    if len(chosen) >= 6:
        tail = list(chosen[-3:])
        while tail and len(tail[0].text) > LIST_ITEM_MAX:
            tail.pop(0)
        if len(tail) >= 2 and all(len(s.text) <= LIST_ITEM_MAX for s in tail):
            listed = tail
    prose = list(chosen[: len(chosen) - len(listed)])
    single = voice.one_sentence_paragraphs or tone in (Tone.PLAYFUL, Tone.BOLD)
    if tone is Tone.FORMAL:
        single = False
    paragraphs: list[str] = []
    previous: _Sentence | None = None
    for sentence in prose:
        if (
            not single
            and previous is not None
            and paragraphs
            and previous.index + 1 == sentence.index
            and previous.text.endswith((".", "!", "?", "…"))
            and paragraphs[-1] == previous.text
            and len(previous.text) + len(sentence.text) < PAIR_MAX_CHARS
        ):
            paragraphs[-1] = f"{previous.text} {sentence.text}"
        else:
            paragraphs.append(sentence.text)
        previous = sentence
    if listed:
        items = [
            (f"{n}. " if voice.list_marker == "1." else f"{voice.list_marker} ") + s.text
            for n, s in enumerate(listed, start=1)
        ]
        label = [phrases.takeaways] if phrases else []
        paragraphs.append("\n".join(label + items))
    return paragraphs


def _closing(
    context: ProjectContext, language: str, phrases: Phrases | None, tone: Tone, voice: Voice
) -> str:
    """The call to action and sign-off, in the post's language: the profile's own when the
    post is in the project's language, else the framing's."""
    profile = context.tone_profile
    same_language = primary(context.language or "en") == primary(language)
    cta = str(profile.get("cta") or "") if same_language else ""
    if not cta and phrases:
        cta = phrases.cta.get(tone, phrases.cta[Tone.NEUTRAL])
    emoji_allowed = profile.get("emoji") is not False
    mark = voice.emoji or ("👉" if profile.get("emoji") is True else _TONE_EMOJI.get(tone, ""))
    if cta and mark and emoji_allowed:
        cta = f"{mark} {cta}"
    signoff = str(profile.get("signoff") or "") or voice.signoff
    if signoff and not same_language:
        signoff = _name_only(signoff)
    return "\n".join(line for line in (cta, signoff) if line)


def _name_only(signoff: str) -> str:
    """A sign-off in another language reduced to its name: "Cheers, Lena" → "— Lena"."""
    if re.match(r"^[—–~-]", signoff):
        return signoff
    parts = signoff.replace(",", " ").split()
    return f"— {parts[-1]}" if parts and parts[-1][:1].isupper() else ""


def _inline(phrase: str, language: str) -> str:
    """A pillar used mid-sentence: lower its capital, except in German (nouns keep theirs)
    and for acronyms ("B2B content strategy")."""
    if primary(language) == "de" or len(phrase) < 2 or not phrase[1:2].islower():
        return phrase
    return phrase[0].lower() + phrase[1:]
