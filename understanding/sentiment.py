"""Sentiment (negative/neutral/positive) and anger, frustration, urgency for German and English.

A lexicon + rules scorer in the spirit of VADER: word valences, negation flips the next words,
intensifiers and diminishers scale them, "but/aber" shifts weight to the second clause, and
exclamation marks and ALL-CAPS words amplify. Entries ending in "*" match as prefixes, which covers
German inflection and compounds ("enttäusch*" matches "enttäuscht", "Enttäuschung").
"""

from __future__ import annotations

import enum
import math
import re

from pydantic import BaseModel, ConfigDict

__all__ = ["SentimentLabel", "SentimentScores", "Sentiment", "analyze_sentiment"]


@enum.unique
class SentimentLabel(enum.StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class SentimentScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    negative: float
    neutral: float
    positive: float


class Sentiment(BaseModel):
    """`compound` is in [-1, 1]; the emotion scores are each in [0, 1]."""

    model_config = ConfigDict(frozen=True)

    label: SentimentLabel
    compound: float
    scores: SentimentScores
    anger: float
    frustration: float
    urgency: float

    @property
    def emotions(self) -> dict[str, float]:
        return {"anger": self.anger, "frustration": self.frustration, "urgency": self.urgency}


def _lexicon(spec: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for chunk in spec.split(";"):
        value, _, words = chunk.partition(":")
        for word in words.split():
            out[word.strip().lower()] = float(value)
    return out


_VALENCE = _lexicon(
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
_PREFIXES = {k[:-1]: v for k, v in _VALENCE.items() if k.endswith("*")}
_EXACT = {k: v for k, v in _VALENCE.items() if not k.endswith("*")}

_NEGATORS = {"not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without", "cannot", "cant",
             "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "wont", "havent", "hasnt",
             "nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals", "nichts", "niemand", "ohne"}
_INTENSIFIERS = {"very": 1.5, "really": 1.4, "extremely": 1.8, "so": 1.3, "totally": 1.5, "absolutely": 1.6,
                 "completely": 1.5, "incredibly": 1.7, "super": 1.4, "too": 1.3, "most": 1.3,
                 "sehr": 1.5, "wirklich": 1.4, "extrem": 1.8, "total": 1.5, "absolut": 1.6, "völlig": 1.5,
                 "voellig": 1.5, "echt": 1.4, "mega": 1.6, "äußerst": 1.7, "ausserst": 1.7, "besonders": 1.3,
                 "unglaublich": 1.7, "zu": 1.2}
_DIMINISHERS = {"bit": 0.6, "slightly": 0.6, "somewhat": 0.7, "little": 0.7, "kinda": 0.7, "etwas": 0.7,
                "bisschen": 0.6, "leicht": 0.7, "ziemlich": 0.9, "eher": 0.7}
_CONTRAST = {"but", "however", "aber", "jedoch", "allerdings", "trotzdem"}

_ANGER = _lexicon(
    "1: angry furious outraged outrageous unacceptable ridiculous scam fraud disgrace disgusting pathetic "
    "incompetent liar liars lied shameless hate shit crap damn wtf hell "
    "wütend wuetend sauer stinksauer frechheit unverschämt* unverschaemt* inakzeptabel lächerlich "
    "laecherlich betrug* abzocke* skandal* zumutung inkompetent* lügner* luegner* gelogen scheiß* scheiss* "
    "verdammt* mist dreist* hasse unfassbar;"
    "0.6: lawyer lawsuit sue court anwalt rechtsanwalt klage verklagen gericht verbraucherzentrale "
    "kündige kuendige cancel;"
)
_FRUSTRATION = _lexicon(
    "1: again still frustrated frustrating frustration annoyed annoying fed useless pointless waiting "
    "ignored nobody nothing third fourth already endless "
    "wieder immer schon frustr* genervt nervig nutzlos sinnlos warte warten wartet ignoriert* niemand "
    "nichts dritten vierten x-ten endlos* ewig*;"
    "0.6: weeks months days hours wochen monate tagen tage stunden seit since repeatedly mehrfach "
    "mehrmals nochmal noch;"
)
_FRUSTRATION_PHRASES = ["no answer", "no response", "no reply", "keine antwort", "keine rückmeldung",
                        "keine reaktion", "immer noch", "noch immer", "schon wieder", "yet again", "once again",
                        "still waiting", "still not", "warte seit", "waiting for", "tired of", "had enough",
                        "reicht mir", "reicht jetzt", "zum dritten mal", "zum x-ten mal", "third time", "dritte mal",
                        "for three weeks", "seit drei wochen", "for weeks", "seit wochen",
                        "nothing happened", "nichts passiert"]
_URGENCY = _lexicon(
    "1: urgent urgently asap immediately emergency critical dringend dringlich sofort umgehend "
    "schnellstmöglich schnellstmoeglich unverzüglich unverzueglich notfall eilig eilt;"
    "0.6: today now quickly deadline tonight heute jetzt frist schnell rasch gleich morgen tomorrow;"
)
_URGENCY_PHRASES = ["as soon as possible", "right now", "right away", "so schnell wie möglich",
                    "so schnell wie moeglich", "heute noch", "noch heute", "bis morgen", "by tomorrow",
                    "time sensitive", "can't wait", "cannot wait", "kann nicht warten"]

_TOKEN = re.compile(r"[A-Za-zÄÖÜäöüß]+(?:'[a-z]+)?|[!?.;,:]")
_PUNCT = set("!?.;,:")


def _lookup(word: str, table: dict[str, float], prefixes: dict[str, float] | None = None) -> float:
    if word in table:
        return table[word]
    if prefixes:
        for prefix, value in prefixes.items():
            if word.startswith(prefix):
                return value
    return 0.0


def _prefix_table(table: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    return ({k: v for k, v in table.items() if not k.endswith("*")},
            {k[:-1]: v for k, v in table.items() if k.endswith("*")})


_ANGER_T = _prefix_table(_ANGER)
_FRUSTRATION_T = _prefix_table(_FRUSTRATION)
_URGENCY_T = _prefix_table(_URGENCY)


def _squash(x: float, k: float) -> float:
    return round(1.0 - math.exp(-k * max(0.0, x)), 4)


def analyze_sentiment(text: str) -> Sentiment:
    raw_tokens = _TOKEN.findall(text or "")
    words = raw_tokens
    lower = [w.lower().replace("'", "") for w in words]
    n_words = sum(1 for w in words if w not in _PUNCT) or 1
    exclamations = min((text or "").count("!"), 4)
    caps = [len(w) >= 3 and w.isupper() for w in words]
    caps_ratio = sum(caps) / n_words

    contrast_at = max((i for i, w in enumerate(lower) if w in _CONTRAST), default=-1)
    pos_sum = neg_sum = 0.0
    for i, word in enumerate(lower):
        value = _lookup(word, _EXACT, _PREFIXES)
        if not value:
            continue
        if word == "like" and i > 0 and lower[i - 1] in {"would", "id", "wd", "should"}:
            continue  # "I would like to ..." is a request, not praise
        window = []
        for prev in reversed(lower[max(0, i - 3):i]):
            if prev in _PUNCT:
                break  # negation and intensifiers do not cross punctuation
            window.insert(0, prev)
        for j, prev in enumerate(reversed(window)):
            if prev in _INTENSIFIERS:
                value *= _INTENSIFIERS[prev]
            elif prev in _DIMINISHERS:
                value *= _DIMINISHERS[prev]
        if any(w in _NEGATORS or w.endswith("nt") and w[:-2] in {"don", "doesn", "didn", "isn", "wasn", "can"}
               for w in window) or (i + 1 < len(lower) and lower[i + 1] in {"nicht", "nie", "niemals"}):
            value *= -0.6
        if caps[i]:
            value *= 1.4
        if contrast_at >= 0:
            value *= 1.5 if i > contrast_at else 0.6
        if value > 0:
            pos_sum += value
        else:
            neg_sum -= value
    low_text = (text or "").lower()
    frustration_phrase_hits = sum(1.0 for p in _FRUSTRATION_PHRASES if p in low_text)
    neg_sum += 1.5 * frustration_phrase_hits  # "still no answer", "schon wieder" read as complaints
    amplify = 1.0 + 0.12 * exclamations
    total = (pos_sum - neg_sum) * (amplify if pos_sum != neg_sum else 1.0)
    compound = total / math.sqrt(total * total + 15.0)
    if compound >= 0.2:
        label = SentimentLabel.POSITIVE
    elif compound <= -0.2:
        label = SentimentLabel.NEGATIVE
    else:
        label = SentimentLabel.NEUTRAL
    magnitude = pos_sum + neg_sum
    neutral_mass = max(0.0, 1.0 - abs(compound)) * n_words / 4
    denominator = magnitude + neutral_mass or 1.0
    scores = SentimentScores(negative=round(neg_sum / denominator, 4), neutral=round(neutral_mass / denominator, 4),
                             positive=round(pos_sum / denominator, 4))

    anger_hits = sum(_lookup(w, *_ANGER_T) for w in lower)
    anger = anger_hits + 0.25 * exclamations + 2.0 * caps_ratio + (0.5 if neg_sum >= 4 else 0.0)
    frustration_hits = sum(_lookup(w, *_FRUSTRATION_T) for w in lower)
    frustration_hits += frustration_phrase_hits
    frustration = frustration_hits * (1.0 if neg_sum > 0 or frustration_hits >= 2 else 0.5) + 0.1 * exclamations
    urgency_hits = sum(_lookup(w, *_URGENCY_T) for w in lower)
    urgency_hits += sum(1.0 for p in _URGENCY_PHRASES if p in low_text)
    urgency = urgency_hits + 0.1 * exclamations
    return Sentiment(label=label, compound=round(compound, 4), scores=scores, anger=_squash(anger, 0.9),
                     frustration=_squash(frustration, 0.6), urgency=_squash(urgency, 0.9))
