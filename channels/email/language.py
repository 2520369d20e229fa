"""A tiny stop-word language guess. Real detection (lingua) is injected by the integrator later."""

from __future__ import annotations

import re

__all__ = ["guess_language"]

_WORD = re.compile(r"[^\W\d_]+")
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and is are you your to of in for this that with have not please thanks".split()),
    "de": frozenset("der die das und ist sind nicht ich sie mit für bitte danke ein eine auf wir".split()),
    "fr": frozenset("le la les et est sont vous je pas pour avec une des merci bonjour nous".split()),
    "nl": frozenset("de het een en is zijn niet ik je met voor van dank bedankt wij graag".split()),
    "da": frozenset("og er det jeg ikke med til for en af har tak hej vi du".split()),
    "sv": frozenset("och är det jag inte med till för en av har tack hej vi du att".split()),
    "es": frozenset("el la los las y es son no yo con para una gracias hola usted".split()),
    "it": frozenset("il lo la gli e è sono non io con per una grazie ciao lei".split()),
    "pl": frozenset("i jest nie się na że jak do dziękuję proszę czy mam".split()),
}


def guess_language(text: str) -> str | None:
    """Return an ISO 639-1 code when the text clearly looks like one language, else ``None``."""
    sample = text[:5000]
    if re.search(r"[\u3040-\u30ff]", sample):
        return "ja"
    words = [w.lower() for w in _WORD.findall(sample)][:800]
    if len(words) < 3:
        return None
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best, score = max(scores.items(), key=lambda kv: kv[1])
    runner_up = sorted(scores.values())[-2]
    if score >= 2 and score >= 1.5 * runner_up:
        return best
    return None
