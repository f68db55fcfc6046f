"""The only words the offline writer adds to a post: fixed framing per language.

Every other word comes from the source, the knowledge base or the project's profile, so
the writer cannot invent a fact. The framing states none: it introduces, asks, invites.
German, French and Spanish use the polite form (Sie, vous, usted) in the formal tone.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.writing.languages import primary
from domain.writing.tone import Tone


@dataclass(frozen=True)
class Phrases:
    takeaways: str
    insight_i: str
    insight_we: str
    pillar_i: str
    pillar_we: str
    question_hook: str  # "{pillar}" is the project's own content pillar
    bridge: dict[Tone, str]  # the line after the hook that sets the tone
    cta: dict[Tone, str]

    def all(self) -> list[str]:
        """Every phrase, with its slots, for tests that check nothing else was added."""
        fixed = [self.takeaways, self.insight_i, self.insight_we, self.pillar_i]
        fixed += [self.pillar_we, self.question_hook]
        return fixed + list(self.bridge.values()) + list(self.cta.values())


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        takeaways="What stood out:",
        insight_i="From my own work: {insight}",
        insight_we="From our own work: {insight}",
        pillar_i="This is exactly why {pillar} is a topic I keep coming back to.",
        pillar_we="This is exactly why {pillar} is a topic we keep coming back to.",
        question_hook="{pillar}: what actually works?",
        bridge={
            Tone.FORMAL: "The key points:",
            Tone.FRIENDLY: "Here's the story.",
            Tone.PLAYFUL: "Plot twist incoming.",
            Tone.BOLD: "Let's be direct about this.",
            Tone.INSPIRING: "This one is worth a minute of your day.",
        },
        cta={
            Tone.NEUTRAL: "What's your take? I'd love to hear it in the comments.",
            Tone.FORMAL: "How do you see it? Your perspective is welcome in the comments.",
            Tone.FRIENDLY: "Does this match your experience? Tell me in the comments.",
            Tone.PLAYFUL: "Agree, disagree, or somewhere in between? The comments are open.",
            Tone.BOLD: "Disagree? Tell me why in the comments.",
            Tone.INSPIRING: "What will you try first? Share it in the comments.",
        },
    ),
    "de": Phrases(
        takeaways="Was hängen bleibt:",
        insight_i="Aus meiner Erfahrung: {insight}",
        insight_we="Aus unserer Erfahrung: {insight}",
        pillar_i="Genau deshalb ist {pillar} ein Thema, auf das ich immer wieder zurückkomme.",
        pillar_we="Genau deshalb ist {pillar} ein Thema, auf das wir immer wieder zurückkommen.",
        question_hook="{pillar}: Was funktioniert wirklich?",
        bridge={
            Tone.FORMAL: "Die wichtigsten Punkte:",
            Tone.FRIENDLY: "Kurz erzählt:",
            Tone.PLAYFUL: "Achtung, jetzt wird es spannend.",
            Tone.BOLD: "Klartext:",
            Tone.INSPIRING: "Dafür lohnt sich eine Minute.",
        },
        cta={
            Tone.NEUTRAL: "Wie seht ihr das? Schreibt es gern in die Kommentare.",
            Tone.FORMAL: "Wie sehen Sie das? Ich freue mich auf Ihre Sicht in den Kommentaren.",
            Tone.FRIENDLY: "Kennt ihr das auch? Erzählt es mir in den Kommentaren.",
            Tone.PLAYFUL: "Zustimmung, Widerspruch oder irgendwo dazwischen? Ab in die Kommentare.",
            Tone.BOLD: "Anderer Meinung? Dann schreibt mir, warum, in die Kommentare.",
            Tone.INSPIRING: "Was probiert ihr als Erstes aus? Teilt es in den Kommentaren.",
        },
    ),
    "fr": Phrases(
        takeaways="Ce que j'en retiens :",
        insight_i="Dans mon propre travail : {insight}",
        insight_we="Dans notre propre travail : {insight}",
        pillar_i="C'est pour cela que {pillar} est un sujet auquel je reviens sans cesse.",
        pillar_we="C'est pour cela que {pillar} est un sujet auquel nous revenons sans cesse.",
        question_hook="{pillar} : qu'est-ce qui marche vraiment ?",
        bridge={
            Tone.FORMAL: "Les points essentiels :",
            Tone.FRIENDLY: "Je vous raconte.",
            Tone.PLAYFUL: "Petit rebondissement en vue.",
            Tone.BOLD: "Soyons directs.",
            Tone.INSPIRING: "Cela vaut une minute de votre journée.",
        },
        cta={
            Tone.NEUTRAL: "Et vous, qu'en pensez-vous ? Dites-le en commentaire.",
            Tone.FORMAL: "Quel est votre point de vue ? Je le lirai avec intérêt en commentaire.",
            Tone.FRIENDLY: "Cela vous parle ? Racontez-moi en commentaire.",
            Tone.PLAYFUL: (
                "D'accord, pas d'accord, ou entre les deux ? Les commentaires sont ouverts."
            ),
            Tone.BOLD: "Pas d'accord ? Dites-moi pourquoi en commentaire.",
            Tone.INSPIRING: "Qu'allez-vous essayer en premier ? Partagez-le en commentaire.",
        },
    ),
    "es": Phrases(
        takeaways="Lo que me llevo:",
        insight_i="De mi propio trabajo: {insight}",
        insight_we="De nuestro propio trabajo: {insight}",
        pillar_i="Por eso {pillar} es un tema al que siempre vuelvo.",
        pillar_we="Por eso {pillar} es un tema al que siempre volvemos.",
        question_hook="{pillar}: ¿qué funciona de verdad?",
        bridge={
            Tone.FORMAL: "Los puntos clave:",
            Tone.FRIENDLY: "Te lo cuento.",
            Tone.PLAYFUL: "Giro de guion a la vista.",
            Tone.BOLD: "Vamos al grano.",
            Tone.INSPIRING: "Esto merece un minuto de tu día.",
        },
        cta={
            Tone.NEUTRAL: "¿Qué opinas? Cuéntamelo en los comentarios.",
            Tone.FORMAL: "¿Cuál es su opinión? La leeré con interés en los comentarios.",
            Tone.FRIENDLY: "¿Te suena? Cuéntamelo en los comentarios.",
            Tone.PLAYFUL: (
                "¿De acuerdo, en desacuerdo o a medio camino? Los comentarios están abiertos."
            ),
            Tone.BOLD: "¿No estás de acuerdo? Dime por qué en los comentarios.",
            Tone.INSPIRING: "¿Qué vas a probar primero? Compártelo en los comentarios.",
        },
    ),
}


def phrases_for(language: str) -> Phrases | None:
    """The framing for ``language``; None for a language the writer does not speak (its
    post then carries the source's words and the profile's sign-off, no foreign framing)."""
    return PHRASES.get(primary(language))
