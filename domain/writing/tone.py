"""The tone a post is written in, read from ``options.tone`` or the profile's voice.

``options.tone`` is short free text (say "playful", "formal and precise", "locker"), so
the writer recognises a handful of tones by their usual words in the languages it speaks
and treats anything else as neutral.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Tone(StrEnum):
    NEUTRAL = "neutral"
    FORMAL = "formal"
    FRIENDLY = "friendly"
    PLAYFUL = "playful"
    BOLD = "bold"
    INSPIRING = "inspiring"


_WORDS: dict[Tone, tuple[str, ...]] = {
    Tone.FORMAL: (
        "formal",
        "professional",
        "serious",
        "corporate",
        "business",
        "precise",
        "academic",
        "authoritative",
        "expert",
        "förmlich",
        "formell",
        "professionell",
        "sachlich",
        "seriös",
        "formel",
        "professionnel",
        "sérieux",
        "profesional",
        "serio",
    ),
    Tone.FRIENDLY: (
        "friendly",
        "warm",
        "casual",
        "conversational",
        "relaxed",
        "informal",
        "approachable",
        "empathetic",
        "kind",
        "freundlich",
        "locker",
        "herzlich",
        "persönlich",
        "amical",
        "chaleureux",
        "décontracté",
        "amigable",
        "cercano",
        "cálido",
    ),
    Tone.PLAYFUL: (
        "playful",
        "fun",
        "funny",
        "humorous",
        "humour",
        "humor",
        "witty",
        "lighthearted",
        "cheeky",
        "verspielt",
        "humorvoll",
        "witzig",
        "lustig",
        "ludique",
        "drôle",
        "divertido",
        "gracioso",
    ),
    Tone.BOLD: (
        "bold",
        "direct",
        "provocative",
        "confident",
        "punchy",
        "assertive",
        "edgy",
        "blunt",
        "contrarian",
        "mutig",
        "direkt",
        "provokant",
        "selbstbewusst",
        "audacieux",
        "franc",
        "directo",
        "atrevido",
    ),
    Tone.INSPIRING: (
        "inspiring",
        "inspirational",
        "motivational",
        "motivating",
        "optimistic",
        "enthusiastic",
        "excited",
        "energetic",
        "positive",
        "uplifting",
        "inspirierend",
        "motivierend",
        "begeistert",
        "optimistisch",
        "inspirant",
        "motivant",
        "enthousiaste",
        "inspirador",
        "motivador",
        "entusiasta",
    ),
}
_LOOKUP = {word: tone for tone, words in _WORDS.items() for word in words}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def read_tone(requested: str | None, profile: dict[str, object]) -> Tone:
    """The post's tone: the request's when it names one, else the profile's voice (its
    first recognised word), else formal for a profile marked formal, else neutral."""
    for text in (requested, profile.get("tone"), profile.get("voice")):
        if isinstance(text, str):
            for word in _WORD.findall(text.lower()):
                if word in _LOOKUP:
                    return _LOOKUP[word]
    if str(profile.get("formality", "")).lower() == "formal":
        return Tone.FORMAL
    return Tone.NEUTRAL
