"""Lexicon signals for German and English, and the rule-based urgency score.

The word lists and rules are those of Glassdesk's first sentiment scorer (in the spirit of VADER):
word valences, negation flips the next words, intensifiers and diminishers scale them, "but/aber"
shifts weight to the second clause, and exclamation marks and ALL-CAPS words amplify. Entries ending
in "*" match as prefixes ("enttäusch*" matches "enttäuscht", "Enttäuschung").

The trained model (`understanding.sentiment_model`) uses these signals as a few extra features: they
are the same for both languages, so what the model learns about them from English emotion data also
applies to German text. Urgency has no public training labels and is produced by rules only
(`rule_urgency`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["LexiconSignals", "lexicon_signals", "rule_anger", "rule_frustration", "rule_urgency", "N_LEXICON_FEATURES"]


def _lexicon(spec: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for chunk in spec.split(";"):
        value, _, words = chunk.partition(":")
        for word in words.split():
            out[word.strip().lower()] = float(value)
    return out


def _split(table: dict[str, float]) -> tuple[dict[str, float], tuple[tuple[str, float], ...]]:
    """Exact entries, and prefix entries (those ending in '*') as (prefix, value) pairs."""
    return (
        {k: v for k, v in table.items() if not k.endswith("*")},
        tuple((k[:-1], v) for k, v in table.items() if k.endswith("*")),
    )


_VALENCE = _split(
    _lexicon(
        # English
        "3: excellent amazing awesome fantastic perfect wonderful brilliant outstanding superb love loved lovely;"
        "2: great good happy glad pleased satisfied thanks thank thankful grateful helpful quick fast friendly nice "
        "appreciate appreciated recommend impressed works worked solved resolved fixed easy smooth best cool;"
        "1: ok okay fine fair decent well like liked finally;"
        "-1: slow late delayed problem problems issue issues wrong confusing confused unclear expensive missing "
        "unfortunately sadly difficult hard worried concern concerned damaged broken error;"
        "-2: bad poor disappointed disappointing disappointment annoyed annoying unhappy upset useless rude "
        "frustrated frustrating fail failed failure waste lost complaint complain refuse refused ignored sick "
        "unacceptable ridiculous hate hated nightmare mess nonsense incompetent joke;"
        "-3: terrible horrible awful worst disgusting disgrace scam fraud furious outrageous pathetic angry "
        "shit crap;"
        # German
        "3: ausgezeichnet hervorragend großartig grossartig fantastisch perfekt wunderbar super spitze klasse "
        "genial toll top liebe begeistert*;"
        "2: gut gute guter gutes schön schoen zufrieden* danke dankeschön dank* hilfreich schnell "
        "freundlich* nett empfehle* empfehlen weiterempfehl* beeindruckt funktioniert klappt gelöst geloest erledigt "
        "einfach reibungslos freue* freut* bestens;"
        "1: okay ok passt gerne fair endlich;"
        "-1: langsam spät spaet verspät* verzöger* problem probleme fehler falsch unklar teuer fehlt leider "
        "schwierig sorge sorgen beschädigt beschaedigt kaputt defekt*;"
        "-2: schlecht* enttäusch* enttaeusch* ärger* aerger* genervt nervig unzufrieden* nutzlos unhöflich "
        "unhoeflich frustr* verloren beschwerde* reklamation ignoriert* inakzeptabel lächerlich laecherlich "
        "unmöglich unmoeglich hasse chaos quatsch inkompetent* ärgerlich zumutung sauer satt reinfall;"
        "-3: furchtbar schrecklich katastroph* miserabel mies* grauenhaft unverschämt* unverschaemt* frechheit "
        "betrug* abzocke* wütend wuetend stinksauer skandal* schlimmste* scheiß* scheiss* mist;"
    )
)

_NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "neither",
        "nor",
        "without",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "wasnt",
        "arent",
        "wont",
        "havent",
        "hasnt",
        "nicht",
        "kein",
        "keine",
        "keinen",
        "keinem",
        "keiner",
        "nie",
        "niemals",
        "nichts",
        "niemand",
        "ohne",
    }
)
_POSTPOSED_NEGATORS = frozenset({"nicht", "nie", "niemals"})  # "das klappt nicht"
_INTENSIFIERS = {
    "very": 1.5,
    "really": 1.4,
    "extremely": 1.8,
    "so": 1.3,
    "totally": 1.5,
    "absolutely": 1.6,
    "completely": 1.5,
    "incredibly": 1.7,
    "super": 1.4,
    "too": 1.3,
    "most": 1.3,
    "sehr": 1.5,
    "wirklich": 1.4,
    "extrem": 1.8,
    "total": 1.5,
    "absolut": 1.6,
    "völlig": 1.5,
    "voellig": 1.5,
    "echt": 1.4,
    "mega": 1.6,
    "äußerst": 1.7,
    "ausserst": 1.7,
    "besonders": 1.3,
    "unglaublich": 1.7,
    "zu": 1.2,
}
_DIMINISHERS = {
    "bit": 0.6,
    "slightly": 0.6,
    "somewhat": 0.7,
    "little": 0.7,
    "kinda": 0.7,
    "etwas": 0.7,
    "bisschen": 0.6,
    "leicht": 0.7,
    "ziemlich": 0.9,
    "eher": 0.7,
}
_CONTRAST = frozenset({"but", "however", "aber", "jedoch", "allerdings", "trotzdem"})
_REQUEST_BEFORE_LIKE = frozenset({"would", "id", "wd", "should"})  # "I would like to ..." is a request

_ANGER = _split(
    _lexicon(
        "1: angry furious outraged outrageous unacceptable ridiculous scam fraud disgrace disgusting pathetic "
        "incompetent liar liars lied shameless hate shit crap damn wtf hell "
        "wütend wuetend sauer stinksauer frechheit unverschämt* unverschaemt* inakzeptabel lächerlich "
        "laecherlich betrug* abzocke* skandal* zumutung inkompetent* lügner* luegner* gelogen scheiß* scheiss* "
        "verdammt* mist dreist* hasse unfassbar;"
        "0.6: lawyer lawsuit sue court anwalt rechtsanwalt klage verklagen gericht verbraucherzentrale "
        "kündige kuendige cancel;"
    )
)
_FRUSTRATION = _split(
    _lexicon(
        "1: again still frustrated frustrating frustration annoyed annoying fed useless pointless waiting "
        "ignored nobody nothing third fourth already endless "
        "wieder immer schon frustr* genervt nervig nutzlos sinnlos warte warten wartet ignoriert* niemand "
        "nichts dritten vierten x-ten endlos* ewig*;"
        "0.6: weeks months days hours wochen monate tagen tage stunden seit since repeatedly mehrfach "
        "mehrmals nochmal noch;"
    )
)
_FRUSTRATION_PHRASES = (
    "no answer",
    "no response",
    "no reply",
    "keine antwort",
    "keine rückmeldung",
    "keine reaktion",
    "immer noch",
    "noch immer",
    "schon wieder",
    "yet again",
    "once again",
    "still waiting",
    "still not",
    "warte seit",
    "waiting for",
    "tired of",
    "had enough",
    "reicht mir",
    "reicht jetzt",
    "zum dritten mal",
    "zum x-ten mal",
    "third time",
    "dritte mal",
    "for three weeks",
    "seit drei wochen",
    "for weeks",
    "seit wochen",
    "nothing happened",
    "nichts passiert",
)

# --- urgency (rules only: there are no public urgency labels) ---------------------------------
_URGENCY = _split(
    _lexicon(
        "1: urgent urgently asap immediately emergency critical dringend dringlich sofort umgehend "
        "schnellstmöglich schnellstmoeglich unverzüglich unverzueglich notfall eilig eilt;"
        "0.6: today now quickly deadline tonight heute jetzt frist schnell rasch gleich morgen tomorrow spätestens "
        "spaetestens;"
    )
)
_URGENCY_PHRASES = (
    "as soon as possible",
    "right now",
    "right away",
    "so schnell wie möglich",
    "so schnell wie moeglich",
    "heute noch",
    "noch heute",
    "bis morgen",
    "by tomorrow",
    "time sensitive",
    "can't wait",
    "cannot wait",
    "kann nicht warten",
    "at the latest",
    "end of day",
    "end of the day",
    "by tonight",
    "bis heute abend",
)
# a deadline: "bis Freitag", "by Monday", "bis zum 3.", "by the 12th", "until 5 pm", "bis 17 Uhr"
_DEADLINE = re.compile(
    r"\b(?:bis|by|until|till|before|vor)\s+(?:(?:spätestens|spaetestens|zum|the|end\s+of|ende)\s+)?"
    r"(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|\d{1,2}(?:\.|:\d{2}|\s*(?:uhr|am|pm|st|nd|rd|th)))",
    re.IGNORECASE,
)
# writing again about the same thing ("third time I write", "zum dritten Mal", "schon wieder")
_REPEATED_CONTACT = re.compile(
    r"\b(?:(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th))\s+time|(?:zweite|dritte|vierte|fünfte|x-te)n?\s+mal"
    r"|zum\s+(?:zweiten|dritten|vierten|fünften|x-ten|\d+\.)\s+mal|schon\s+wieder|yet\s+again|once\s+again"
    r"|(?:two|three|four|five|zwei|drei|vier|fünf)\s+(?:e-?mails|mails|messages|nachrichten|calls|anrufe))\b",
    re.IGNORECASE,
)

_TOKEN = re.compile(r"[A-Za-zÄÖÜäöüß]+(?:'[a-z]+)?|[!?.;,:]")
_PUNCT = frozenset("!?.;,:")
N_LEXICON_FEATURES = 8


def _lookup(word: str, table: tuple[dict[str, float], tuple[tuple[str, float], ...]]) -> float:
    exact, prefixes = table
    value = exact.get(word)
    if value is not None:
        return value
    for prefix, prefix_value in prefixes:
        if word.startswith(prefix):
            return prefix_value
    return 0.0


def _squash(x: float, k: float) -> float:
    return 1.0 - math.exp(-k * max(0.0, x))


def _negated(window: list[str], following: str | None) -> bool:
    if following in _POSTPOSED_NEGATORS:
        return True
    return any(
        w in _NEGATORS or (w.endswith("nt") and w[:-2] in {"don", "doesn", "didn", "isn", "wasn", "can"})
        for w in window
    )


@dataclass(frozen=True, slots=True)
class LexiconSignals:
    """Raw lexicon evidence for one text (sums of word weights; larger is stronger)."""

    positive: float
    negative: float
    anger: float
    frustration: float
    urgency: float
    anger_words: float  # the anger-word part of `anger` (without punctuation and capitals)
    frustration_cues: float  # the frustration words and phrases behind `frustration`
    exclamations: int
    caps_ratio: float
    question: bool

    @property
    def compound(self) -> float:
        total = self.positive - self.negative
        amplify = 1.0 + 0.12 * self.exclamations if total else 1.0
        total *= amplify
        return total / math.sqrt(total * total + 15.0)

    def features(self) -> np.ndarray:
        """`N_LEXICON_FEATURES` values, each in [-1, 1], for the model's dense feature block."""
        return np.array(
            [
                _squash(self.positive, 0.35),
                _squash(self.negative, 0.35),
                self.compound,
                _squash(self.anger, 0.9),
                _squash(self.frustration, 0.6),
                self.exclamations / 4.0,
                min(1.0, self.caps_ratio),
                float(self.question),
            ],
            dtype=np.float32,
        )


def lexicon_signals(text: str) -> LexiconSignals:
    words = _TOKEN.findall(text or "")
    lower = [w.lower().replace("'", "") for w in words]
    low_text = (text or "").lower()
    n_words = sum(1 for w in words if w not in _PUNCT) or 1
    exclamations = min(low_text.count("!"), 4)
    caps = [len(w) >= 3 and w.isupper() for w in words]
    contrast_at = max((i for i, w in enumerate(lower) if w in _CONTRAST), default=-1)

    positive = negative = 0.0
    for i, word in enumerate(lower):
        value = _lookup(word, _VALENCE)
        if not value or (word == "like" and i > 0 and lower[i - 1] in _REQUEST_BEFORE_LIKE):
            continue
        window: list[str] = []
        for prev in reversed(lower[max(0, i - 3) : i]):
            if prev in _PUNCT:
                break  # negation and intensifiers do not cross punctuation
            window.insert(0, prev)
        for prev in window:
            value *= _INTENSIFIERS.get(prev, 1.0) * _DIMINISHERS.get(prev, 1.0)
        if _negated(window, lower[i + 1] if i + 1 < len(lower) else None):
            value *= -0.6
        if caps[i]:
            value *= 1.4
        if contrast_at >= 0:
            value *= 1.5 if i > contrast_at else 0.6
        if value > 0:
            positive += value
        else:
            negative -= value
    frustration_phrases = sum(1.0 for p in _FRUSTRATION_PHRASES if p in low_text)
    negative += 1.5 * frustration_phrases  # "still no answer", "schon wieder" read as complaints

    caps_ratio = sum(caps) / n_words
    anger_words = sum(_lookup(w, _ANGER) for w in lower)
    anger = anger_words + 0.25 * exclamations + 2.0 * caps_ratio + (0.5 if negative >= 4 else 0.0)
    frustration_hits = sum(_lookup(w, _FRUSTRATION) for w in lower) + frustration_phrases
    frustration = frustration_hits * (1.0 if negative > 0 or frustration_hits >= 2 else 0.5) + 0.1 * exclamations
    urgency = sum(_lookup(w, _URGENCY) * (1.5 if caps[i] else 1.0) for i, w in enumerate(lower))
    urgency += sum(1.0 for p in _URGENCY_PHRASES if p in low_text)
    urgency += 1.0 * len(_DEADLINE.findall(text or "")) + 0.6 * bool(_REPEATED_CONTACT.search(text or ""))
    urgency += 0.1 * exclamations
    return LexiconSignals(
        positive=positive,
        negative=negative,
        anger=anger,
        frustration=frustration,
        urgency=urgency,
        anger_words=anger_words,
        frustration_cues=frustration_hits,
        exclamations=exclamations,
        caps_ratio=caps_ratio,
        question="?" in low_text,
    )


def rule_anger(signals: LexiconSignals) -> float:
    """The first scorer's anger in [0, 1) - anger words ("Frechheit", "unacceptable"; legal threats count
    0.6), exclamation marks, the share of ALL-CAPS words, strong negative wording - but 0 unless the text
    has an anger word: punctuation and capitals alone are too common in calm text. Not calibrated."""
    return round(_squash(signals.anger, 0.9), 4) if signals.anger_words > 0 else 0.0


def rule_frustration(signals: LexiconSignals) -> float:
    """The first scorer's frustration in [0, 1) - waiting, repetition and being ignored ("schon wieder",
    "still no answer", "seit Wochen"), halved when nothing else in the text is negative - but 0 with fewer
    than two such cues ("noch" or "days" alone says little). Not calibrated."""
    return round(_squash(signals.frustration, 0.6), 4) if signals.frustration_cues >= 2 else 0.0


def rule_urgency(signals: LexiconSignals) -> float:
    """Urgency in [0, 1) from rules only: urgency words ("dringend", "sofort", "urgent", "asap"; ALL-CAPS
    counts 1.5x), weaker time words ("heute", "now", "tomorrow"), phrases ("as soon as possible",
    "noch heute"), a deadline ("bis Freitag", "by 5 pm"), writing again about the same thing
    ("third time", "zum dritten Mal"), and exclamation marks. One strong cue gives about 0.6, two 0.83."""
    return round(_squash(signals.urgency, 0.9), 4)
