"""Tokenizing for German and English retrieval: lowercase, fold umlauts, drop stopwords, light stemming."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["tokenize", "normalize"]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})

_STOPWORDS = frozenset(
    """
    a an and are as at be been but by can could do does for from had has have how i if in into is it
    its me my no not of on or our so than that the their them then there these they this to was we
    were what when where which who why will with would you your yours please hi hello thanks
    aber als am an auch auf aus bei bin bis bitte da dann das dass dem den der des die dies diese
    dieser doch du ein eine einem einen einer eines er es fuer hab habe haben hallo hat ich ihr ihre
    im in ist ja kann koennen man mein meine meinem meinen meiner mich mir mit nach nicht noch nun
    oder sie sind so und uns unser unsere vom von vor war was wenn werden wie wir wird wo zu zum zur
    danke guten tag about tell want need like just get know also any some there here
    gern gerne etwas mal bzw sowie meines meinen ihres ihren ihrem ihrer wann
    welche welcher welches welchen gibt gib
    """.split()
)

# Longest first; a suffix is only removed if at least three characters remain.
_SUFFIXES = (
    "ungen",
    "ingen",
    "ation",
    "ieren",
    "ierte",
    "ung",
    "ing",
    "ern",
    "est",
    "ies",
    "ied",
    "en",
    "er",
    "es",
    "ed",
    "em",
    "ly",
    "e",
    "s",
    "n",
)


def normalize(text: str) -> str:
    """Lowercase, fold German umlauts and strip accents."""
    lowered = unicodedata.normalize("NFC", text.lower()).translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _strip_once(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _stem(word: str) -> str:
    """Strip up to two suffixes, so "covered"/"covers"/"cover" and "Versicherungen"/"versichern"
    meet in the same stem."""
    if any(ch.isdigit() for ch in word):
        return word
    return _strip_once(_strip_once(word))


def tokenize(text: str) -> list[str]:
    """Tokens for BM25. Works the same for German and English text; compounds stay whole."""
    return [_stem(w) for w in _WORD.findall(normalize(text)) if w not in _STOPWORDS and len(w) > 1]
