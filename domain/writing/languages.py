"""Languages the offline writer speaks, their stopwords, and telling them apart.

The lists are hand-kept on purpose: they hold function words (articles, pronouns,
prepositions, auxiliaries, quantifiers such as "every" and "anyone") plus generic words
that make poor hashtags ("thing", "boring", "heute"). Published stopword packages drop
content words the writer needs to match a source with its knowledge base ("call", "work",
"first"), and a word list is data, not code worth a dependency.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

SUPPORTED = ("en", "de", "fr", "es")

# Frequent function words that (nearly) only their own language uses: a source's
# language is the one whose markers it uses most.
_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """the and of to is are was were that this with for on it by we you they not be
        have has from at an or but which who our their will would can do does did what
        how why there been its these those than then into about your my""".split()
    ),
    "de": frozenset(
        """der die das und ist sind nicht ein eine einen einem einer eines mit für auf von
        zu den dem des sich auch wir ihr sie ich es wie was wenn aber oder noch nur bei
        aus zum zur dass hat haben wird werden im am als kein keine schon sehr mehr man
        uns unser unsere nach vor über durch""".split()
    ),
    "fr": frozenset(
        """le la les et est sont un une des du de que qui dans pour pas sur par avec ce
        cette ces il elle nous vous ils au aux ne plus mais ou son sa ses leur leurs été
        être avoir ont comme très aussi notre nos votre vos""".split()
    ),
    "es": frozenset(
        """el la los las y es son un una unos unas de del que en por para con no se su
        sus lo al como más pero este esta estos estas ha han fue muy también nosotros
        ellos hay le les nuestro nuestra nuestros""".split()
    ),
}

_EXTRA: dict[str, str] = {
    "en": """a about above after again against all almost alone along already also although
    always am among another any anybody anyone anything anyway anywhere around as away back
    became because become becomes before being below between both cannot could doing done
    down during each either else enough even ever every everybody everyone everything
    everywhere few further get gets getting got had having he her here hers herself him
    himself his however if in itself just least less let lets like made make makes many may
    me might mine more most much must myself near need needs never new next no nobody none
    nor nothing now off often once one only onto other others otherwise ours ourselves out
    over own per perhaps quite rather really same see seem seems several shall she should
    since so some somebody someone something sometimes somewhere still such them themselves
    therefore thing things though through thus till too toward towards under until up upon
    us very via well what whatever when whenever where whether while whoever whole whom
    whose yes yet yours yourself yourselves ok etc i'm it's don't doesn't didn't can't won't
    isn't aren't wasn't weren't we're they're you're i've we've i'd we'd let's that's
    there's what's who's way ways lot lots say says said tell told think thought know knew
    want wants go goes going went come came take took give gave put keep kept look looks
    first second third last big small good great bad better best worse worst little long
    high low able sure true real actually simply basically maybe probably certainly
    definitely truly today tomorrow yesterday year years time times day days week weeks
    month months people ones boring interesting exciting amazing important different possible
    simple easy hard clear special entire common general specific certain various recent
    current final main major key huge tiny free full early late fast slow quick right wrong
    open strong weak modern average typical usual latest two three four five six seven
    eight nine ten hundred thousand million percent most matter matters work works""",
    "de": """aber alle allem allen aller alles als also am an andere anderen anders auch auf
    aus bei beim bin bis bist da damit dann daran darauf darum das dass davon dazu dein
    deine dem den denn der des deshalb dich die dies diese diesem diesen dieser dieses dir
    doch dort du durch ein eine einem einen einer eines einige einmal er es etwa etwas euch
    euer eure für gegen gibt habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen
    ihr ihre ihrem ihren ihrer im immer in ins ist ja jede jedem jeden jeder jedes jemand
    jetzt kann kein keine keinem keinen keiner können könnte machen macht man manche mehr
    mein meine meinem meinen meiner mich mir mit muss müssen nach nicht nichts noch nun nur
    ob oder ohne schon sehr sein seine seinem seinen seiner seit sich sie sind so solche
    soll sollte sondern sonst über um und uns unser unsere unter viel viele vom von vor
    war waren warum was weil weiter welche welchem welchen welcher wenn wer werden wie
    wieder will wir wird wirklich wo wurde wurden zu zum zur zwar zwei drei vier fünf zehn
    hundert tausend heute morgen gestern jahr jahre jahren monat monate woche wochen tag
    tage mal neu neue neuen gut gute guten besser beste erst erste ersten letzte letzten
    ganz genau gerade eben einfach vielleicht wichtig wichtige langweilig prozent sei
    selbst weniger wenig meist meisten""",
    "fr": """à ai alors au aucun aussi autre autres avant avec avoir bien c ça car ce ceci
    cela celle celui ces cet cette chaque ci comme comment d dans de depuis des deux donc
    dont du elle elles en encore entre est et été être eu fait faire fois font hors ici il
    ils j je jamais juste l la le les leur leurs lui m ma mais me même mes moi moins mon n
    ne ni non nos notre nous on ont ou où par parce pas peu peut plus pour pourquoi quand
    que quel quelle quels qui rien s sa sans se ses si son sont sous sur t ta te tes toi
    ton tous tout toute toutes très trois tu un une vers voici voilà vos votre vous y
    année années mois semaine jour jours premier première dernier dernière nouveau nouvelle
    plupart bon bonne meilleur grand grande petit petite vraiment simplement aujourd'hui chose
    choses pourcent""",
    "es": """a al algo algún alguna algunas alguno algunos ante antes aquí así aunque cada
    casi como con contra cual cuando de del desde donde dos e el ella ellas ellos en entre
    era eran es esa esas ese eso esos esta está están estas este esto estos fue fueron ha
    hace hacer han hasta hay la las le les lo los más me mi mis mucho muchos muy nada ni no
    nos nosotros nuestra nuestras nuestro nuestros o otra otras otro otros para pero poco
    por porque qué que quien quienes se sea ser si sí sin sobre son su sus también tan
    tanto te tiene tienen todo todos tres tu tú un una uno unos usted vez y ya yo año años
    mayoría menos mes meses semana día días primer primero primera último última nuevo
    nueva bueno buena mejor gran grande pequeño realmente simplemente hoy cosa cosas por ciento""",
}

STOPWORDS: dict[str, frozenset[str]] = {
    lang: _MARKERS[lang] | frozenset(_EXTRA[lang].split()) for lang in SUPPORTED
}
_ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())

_MIN_MARKERS = 2  # fewer hits than this says nothing about a language


def primary(tag: str) -> str:
    """``"de-AT"`` → ``"de"``."""
    return tag.split("-")[0].lower()


@lru_cache(maxsize=64)
def stopwords(language: str) -> frozenset[str]:
    """The language's stopwords; every known list for a language the writer lacks."""
    return STOPWORDS.get(primary(language), _ALL_STOPWORDS)


def detect_language(words: Iterable[str]) -> str | None:
    """The language whose function words ``words`` (lower case) use most, or None when the
    text is too short or too mixed to tell (then the project's language applies)."""
    hits = dict.fromkeys(SUPPORTED, 0)
    for word in words:
        for lang in SUPPORTED:
            if word in _MARKERS[lang]:
                hits[lang] += 1
    ranked = sorted(SUPPORTED, key=lambda lang: (-hits[lang], SUPPORTED.index(lang)))
    best, runner_up = hits[ranked[0]], hits[ranked[1]]
    if best < _MIN_MARKERS or best < 2 * runner_up:
        return None
    return ranked[0]
