"""Protected attributes that no routing rule may use (non-discrimination; GDPR Art. 9, 22(4))."""

from __future__ import annotations

import re

__all__ = ["PROTECTED_TERMS", "protected_term"]

# Words that name a protected attribute. Matched against whole words of a fact name or tag.
PROTECTED_TERMS: dict[str, str] = {
    "gender": "gender",
    "sex": "sex",
    "sexual": "sexual orientation",
    "orientation": "sexual orientation",
    "lgbt": "sexual orientation",
    "lgbtq": "sexual orientation",
    "age": "age",
    "birth": "age",
    "birthdate": "age",
    "birthday": "age",
    "dob": "age",
    "elderly": "age",
    "origin": "origin",
    "nationality": "nationality",
    "citizenship": "nationality",
    "ethnicity": "ethnic origin",
    "ethnic": "ethnic origin",
    "race": "racial origin",
    "racial": "racial origin",
    "migrant": "origin",
    "immigrant": "origin",
    "religion": "religion",
    "religious": "religion",
    "faith": "religion",
    "health": "health",
    "medical": "health",
    "diagnosis": "health",
    "illness": "health",
    "pregnancy": "health",
    "pregnant": "health",
    "disability": "disability",
    "disabled": "disability",
    "handicap": "disability",
    "genetic": "genetic data",
    "biometric": "biometric data",
    "political": "political opinion",
    "tradeunion": "trade union membership",
}

_WORD = re.compile(r"[a-z]+")


def protected_term(text: str) -> str | None:
    """The protected attribute ``text`` names (by whole word, any case), or None.

    ``customer_age``, ``gender:female`` and ``Nationality`` match; ``usage`` and ``message`` do not.
    """
    words = _WORD.findall(text.lower())
    joined = "".join(words)
    for word in (*words, joined):
        if word in PROTECTED_TERMS:
            return PROTECTED_TERMS[word]
    return None
