"""The offline writer: a deterministic LinkedIn draft with no model and no network.

It serves test-mode keys and the no-provider default, so the whole product runs on a fresh
machine. It is extractive: it picks the source's most concrete sentences, opens with a hook
in the project's preferred style, adds the most relevant knowledge-base insight and a pillar
tie-in, and closes with the voice profile's call to action. Same input, same post.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from contracts import GenerationOptions, ProjectContext
from domain.linkedin import LINKEDIN_MAX_CHARS, finalize_post, hashtag
from domain.retrieval import tokens


@dataclass(frozen=True)
class Phrases:
    question_hook: str
    story_hook: str
    takeaways: str
    insight_we: str
    insight_i: str
    pillar_we: str
    pillar_i: str
    cta: str


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        question_hook="Why does {topic} matter more than most people think?",
        story_hook="A short story about {topic}.",
        takeaways="What stood out:",
        insight_we="From our own work: {insight}",
        insight_i="From my own work: {insight}",
        pillar_we="This is exactly why {pillar} is a topic we keep coming back to.",
        pillar_i="This is exactly why {pillar} is a topic I keep coming back to.",
        cta="What's your take? I'd love to hear it in the comments.",
    ),
    "de": Phrases(
        question_hook="Warum ist {topic} wichtiger, als die meisten denken?",
        story_hook="Eine kurze Geschichte über {topic}.",
        takeaways="Was hängen bleibt:",
        insight_we="Aus unserer Erfahrung: {insight}",
        insight_i="Aus meiner Erfahrung: {insight}",
        pillar_we="Genau deshalb ist {pillar} ein Thema, auf das wir immer wieder zurückkommen.",
        pillar_i="Genau deshalb ist {pillar} ein Thema, auf das ich immer wieder zurückkomme.",
        cta="Wie seht ihr das? Schreibt es gern in die Kommentare.",
    ),
    "fr": Phrases(
        question_hook="Pourquoi {topic} compte-t-il plus qu'on ne le pense ?",
        story_hook="Une courte histoire sur {topic}.",
        takeaways="Ce que j'en retiens :",
        insight_we="Dans notre propre travail : {insight}",
        insight_i="Dans mon propre travail : {insight}",
        pillar_we="C'est pour cela que {pillar} est un sujet auquel nous revenons sans cesse.",
        pillar_i="C'est pour cela que {pillar} est un sujet auquel je reviens sans cesse.",
        cta="Et vous, qu'en pensez-vous ? Dites-le en commentaire.",
    ),
    "es": Phrases(
        question_hook="¿Por qué {topic} importa más de lo que la mayoría cree?",
        story_hook="Una breve historia sobre {topic}.",
        takeaways="Lo que me llevo:",
        insight_we="De nuestro propio trabajo: {insight}",
        insight_i="De mi propio trabajo: {insight}",
        pillar_we="Por eso {pillar} es un tema al que siempre volvemos.",
        pillar_i="Por eso {pillar} es un tema al que siempre vuelvo.",
        cta="¿Qué opinas? Cuéntamelo en los comentarios.",
    ),
}

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'“„(]?[^\W\d_])|\n+", re.UNICODE)
HOOK_MAX = 150
BULLET_MAX = 160


def write_offline(
    *, context: ProjectContext, source_text: str, options: GenerationOptions, language: str
) -> tuple[str, str]:
    """Return (title, content) of a draft for ``source_text`` in the project's voice."""
    phrases = PHRASES.get(language.split("-")[0].lower(), PHRASES["en"])
    profile = context.tone_profile
    first_person_plural = str(profile.get("person", "")).lower() == "we" or (
        "person" not in profile and context.project_type == "COMPANY_PAGE"
    )
    sentences = _sentences(source_text)
    keywords = _keywords(source_text, context)
    ranked = _rank(sentences, keywords)
    lang = language.split("-")[0].lower()
    topic = _inline(_topic(keywords, context), lang)

    claim = ranked[0] if ranked else _shorten(source_text.strip(), HOOK_MAX)
    hook_style = str(profile.get("hook_style", "bold_claim"))
    paragraphs: list[str] = []
    if hook_style == "question" and topic:
        paragraphs += [phrases.question_hook.format(topic=topic), _shorten(claim, 400)]
    elif hook_style == "story" and topic:
        paragraphs += [phrases.story_hook.format(topic=topic), _shorten(claim, 400)]
    else:
        paragraphs.append(_shorten(claim, HOOK_MAX))

    rest = [s for s in ranked[1:6] if s != claim]
    body = sorted(rest[:3], key=sentences.index)
    paragraphs += [_shorten(s, 300) for s in body]
    bullets = [s for s in rest[3:5]]
    if bullets:
        paragraphs.append(
            phrases.takeaways + "\n" + "\n".join(f"→ {_shorten(b, BULLET_MAX)}" for b in bullets)
        )

    insight = _best_insight(context, keywords)
    if insight:
        template = phrases.insight_we if first_person_plural else phrases.insight_i
        paragraphs.append(template.format(insight=_shorten(insight, 280)))
    pillar = _best_pillar(context, keywords)
    if pillar:
        template = phrases.pillar_we if first_person_plural else phrases.pillar_i
        paragraphs.append(template.format(pillar=_inline(pillar, lang)))

    closing = str(profile.get("cta") or phrases.cta)
    if profile.get("emoji"):
        closing = f"👉 {closing}"
    signoff = str(profile.get("signoff") or "")
    paragraphs.append(f"{closing}\n{signoff}" if signoff else closing)

    tags: list[str] | None = None
    if options.include_hashtags:
        own = [str(t) for t in profile.get("hashtags", []) or []]  # type: ignore[attr-defined]
        tags = (own + [hashtag(k) for k in keywords[:4]])[:5]
    return finalize_post(
        "\n\n".join(paragraphs),
        max_length=options.max_length or LINKEDIN_MAX_CHARS,
        hashtags=tags,
    )


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for piece in _SENTENCE_END.split(text):
        sentence = " ".join(piece.split())
        if len(sentence.split()) >= 4 and sentence not in out:
            out.append(sentence)
    return out


def _keywords(text: str, context: ProjectContext) -> list[str]:
    """Source terms by frequency, boosted when the project's pillars use them too."""
    counts = Counter(tokens(text))
    pillar_terms = set(tokens(" ".join(context.pillars)))
    scored = sorted(counts, key=lambda t: (-(counts[t] + (2 if t in pillar_terms else 0)), t))
    return [t for t in scored if len(t) > 3][:12]


def _rank(sentences: list[str], keywords: list[str]) -> list[str]:
    weight = {k: len(keywords) - i for i, k in enumerate(keywords)}

    def score(item: tuple[int, str]) -> tuple[float, int]:
        index, sentence = item
        words = tokens(sentence)
        value = sum(weight.get(w, 0) for w in set(words)) / (1 + len(words) ** 0.5)
        value += 1.5 if re.search(r"\d", sentence) else 0.0  # concrete numbers hook readers
        value += max(0.0, 1.0 - index * 0.1)  # the lead usually carries the point
        value -= 1.0 if len(sentence) > 300 else 0.0
        return (-value, index)

    return [s for _, s in sorted(enumerate(sentences), key=score)]


def _topic(keywords: list[str], context: ProjectContext) -> str:
    return _best_pillar(context, keywords) or (keywords[0] if keywords else "")


def _inline(phrase: str, language: str) -> str:
    """A pillar used mid-sentence: lower its capital, except in German (nouns keep theirs)."""
    if language == "de" or len(phrase) < 2 or not phrase[1:2].islower():
        return phrase
    return phrase[0].lower() + phrase[1:]


def _best_insight(context: ProjectContext, keywords: list[str]) -> str:
    wanted = set(keywords)
    best, best_score = "", 0
    for passage in context.passages:
        for sentence in _sentences(passage.text):
            overlap = len(set(tokens(sentence)) & wanted)
            if overlap > best_score:
                best, best_score = sentence, overlap
    return best


def _best_pillar(context: ProjectContext, keywords: list[str]) -> str:
    wanted = set(keywords)
    scored = [(len(set(tokens(p)) & wanted), -i, p) for i, p in enumerate(context.pillars)]
    scored = [s for s in scored if s[0] > 0]
    return max(scored)[2] if scored else ""


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    for mark in (". ", "; ", ", "):
        if mark in cut[limit // 2 :]:
            return (
                cut[: cut.rindex(mark) + 1].rstrip(",;")
                if mark == ". "
                else (cut[: cut.rindex(mark)] + "…")
            )
    return cut.rsplit(" ", 1)[0] + "…"
