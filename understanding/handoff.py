"""Deterministic "asked for a human" detection. Handoff must not depend on the classifier."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["DEFAULT_HUMAN_PATTERNS", "HumanRequestDetector", "asked_for_human"]

DEFAULT_HUMAN_PATTERNS: tuple[str, ...] = (
    # English
    r"\b(?:real|live|actual|human)\s+(?:person|human|agent|being|operator|representative)\b",
    r"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:a|an|some|the|your)?\s*(?:one|body|person|human|agent|"
    r"representative|rep|operator|manager|supervisor|someone|somebody|staff|employee)\b",
    r"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:someone|somebody|a human|a person)\b",
    r"\bhuman\b",
    r"\b(?:want|need|get)\s+(?:a|to\s+(?:talk|speak)\s+to\s+a)\s+(?:real\s+)?person\b",
    r"\b(?:customer service\s+)?agent\b",
    r"\boperator\b",
    r"\brepresentative\b",
    r"\bnot\s+(?:a|the)\s+(?:bot|robot|machine)\b",
    r"\bstop\s+(?:the\s+)?bot\b",
    # German
    r"\bmensch(?:en)?\b",
    r"\b(?:echte[nrm]?|richtige[nrm]?|lebendige[nrm]?)\s+(?:mitarbeiter(?:in)?|person|"
    r"menschen|ansprechpartner(?:in)?|kundenberater(?:in)?)\b",
    r"\bmitarbeiter(?:in)?\s+(?:sprechen|bitte)\b",
    r"\b(?:mit|einen?|eine)\s+(?:mitarbeiter(?:in)?|"
    r"sachbearbeiter(?:in)?|berater(?:in)?|kollegen|kollegin)\s+(?:sprechen|reden|verbinden|bitte)\b",
    r"\bverbinden\s+sie\s+mich\b",
    r"\bkein(?:en)?\s+(?:bot|roboter|chatbot|computer)\b",
    r"\b(?:persönlich|persoenlich)\s+(?:sprechen|beraten)\b",
    r"\bsachbearbeiter(?:in)?\b",
    r"\bansprechpartner(?:in)?\b",
    r"\bmit\s+(?:jemandem|wem)\s+(?:reden|sprechen)\b",
    # French, Italian, Spanish, Dutch
    r"\bhumain(?:e)?\b",
    r"\bune?\s+(?:vraie\s+)?personne\b",
    r"\bconseill(?:er|ère)\b",
    r"\bun\s+agent\b",
    r"\bumano\b",
    r"\boperatore\b",
    r"\buna\s+persona\s+(?:vera|reale)\b",
    r"\bpersona\s+real\b",
    r"\bmedewerker\b",
    r"\becht(?:e)?\s+mens\b",
    r"\bparler\s+(?:à|a|avec)\s+(?:quelqu'un|quelqu’un|une?\s+(?:personne|humain|conseill\w+|agent))\b",
    r"\b(?:parlare|parlo)\s+con\s+(?:un|una|qualcuno|l')?\s*(?:umano|persona|operatore|operatrice|addetto)?",
    r"\bhablar\s+con\s+(?:un|una|alguien|algún|el|la)\b",
    r"\b(?:un|una)\s+(?:persona|humano|agente)\b",
    r"\bmet\s+een\s+(?:mens|persoon|medewerker)\b",
    r"\bmens\s+spreken\b",
    # Portuguese, Polish, Turkish
    r"\bfalar\s+com\s+(?:uma?|algu[eé]m|o|a)\b",
    r"\b(?:uma\s+)?pessoa\s+(?:real|de verdade)\b",
    r"\bhumano\b",
    r"\batendente\b",
    r"\bcz[łl]owiek\w*\b",
    r"\bkonsultant\w*\b",
    r"\bz\s+osob[ąa]\b",
    r"\bporozmawia[ćc]\s+z\b",
    r"\binsan(?:la|dan|a)?\b",
    r"\bm[üu][şs]teri\s+temsilcisi\w*\b",
    r"\btemsilci\w*\b",
    r"\bbir\s+ki[şs]i\w*\b",
    r"\byetkili\w*\s+(?:biri|kişi|ile)\b",
)


class HumanRequestDetector:
    """Case-insensitive regex list; pass your own `patterns` to extend or replace the defaults."""

    def __init__(self, patterns: Iterable[str] = DEFAULT_HUMAN_PATTERNS) -> None:
        self.patterns = tuple(patterns)
        self._regex = re.compile("|".join(f"(?:{p})" for p in self.patterns), re.IGNORECASE)

    def matches(self, text: str) -> bool:
        return bool(self._regex.search(text or ""))


_default = HumanRequestDetector()


def asked_for_human(text: str) -> bool:
    """True when the message asks for a person, in de/en/fr/it/es/nl/pt/pl/tr. Never depends on a model."""
    return _default.matches(text)
