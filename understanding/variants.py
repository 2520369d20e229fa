"""Standard German for the models: regional words and the informal register mapped to one form.

A Swiss customer's "Päckli", an Austrian's "Packerl" and a German's "Paket" ask the same thing,
and so do "Kannst du mir sagen" and "Können Sie mir sagen". The intent and sentiment models were
trained mostly on Standard German in the Sie-form, so a regional word or the du-form lowered their
confidence and changed routes (the fairness audit's dialect and formality dimensions).
:func:`standardise` rewrites

- regional words of Switzerland and Austria that have one Standard German equivalent (a fixed list
  from the usual dictionaries of Helvetisms and Austriacisms, not from any test file), and the Swiss
  "ss" spelling of a few common words written with "ß";
- regional greetings: the formal ones ("Grüezi", "Grüß Gott") to "Guten Tag", the informal ones
  ("Servus", "Moin", "Hoi", "Salü") to "Hallo";
- the informal address (du, ihr) in its common customer-service forms ("kannst du", "habt ihr",
  "dir", "dein") to the Sie-form.

The intent featurizer applies it to every text it sees, in training and in prediction alike
(``standardise_german``, recorded in the model; models trained before it have False). It is never
applied to what is stored or shown. The sentiment model does not use it: its corpora are informal
German (tweets, subtitles), and a model trained on standardised text measured lower negative recall
(see understanding/README.md). Words it does not know are left alone; it is a normaliser, not a translator.
"""

from __future__ import annotations

import re

__all__ = ["standardise"]

# regional word -> Standard German (lower case; the first letter's case is kept)
_REGIONAL: dict[str, str] = {
    # Switzerland
    "päckli": "paket",
    "päckchen": "paket",
    "velo": "fahrrad",
    "velos": "fahrräder",
    "natel": "handy",
    "estrich": "dachboden",
    "zügeln": "umziehen",
    "zügle": "ziehe",
    "zügelt": "zieht",
    "ferien": "urlaub",
    "trottoir": "gehsteig",
    "billett": "ticket",
    "poulet": "hähnchen",
    "rüebli": "karotte",
    "znüni": "pause",
    "parkieren": "parken",
    "grösse": "größe",
    "grössen": "größen",
    "grüsse": "grüße",
    "grüssen": "grüßen",
    "weiss": "weiß",
    "strasse": "straße",
    "heisst": "heißt",
    "heisse": "heiße",
    "schliessen": "schließen",
    "gemäss": "gemäß",
    "massnahme": "maßnahme",
    "äusserst": "äußerst",
    # Austria
    "packerl": "paket",
    "sackerl": "tüte",
    "radl": "fahrrad",
    "kasten": "schrank",
    "polizze": "police",
    "haushaltsversicherung": "hausratversicherung",
    "jänner": "januar",
    "feber": "februar",
    "heuer": "dieses jahr",
    "erdäpfel": "kartoffeln",
    "paradeiser": "tomaten",
    "obers": "sahne",
    "stiege": "treppe",
    "kassa": "kasse",
    "spital": "krankenhaus",
    "trafik": "kiosk",
    "zuckerl": "bonbon",
}
# the formal regional greetings are "Guten Tag", the informal ones "Hallo"
_FORMAL_GREETINGS = re.compile(r"\b(?:grüezi(?: mitenand)?|grüß gott|grüss gott)\b", re.IGNORECASE)
_INFORMAL_GREETINGS = re.compile(r"\b(?:servus|moin(?: moin)?|hoi|salü|sali)\b", re.IGNORECASE)

# informal -> formal, longest phrases first; matched case-insensitively on word boundaries
_REGISTER: tuple[tuple[str, str], ...] = (
    ("ihr habt", "Sie haben"),
    ("habt ihr", "haben Sie"),
    ("könnt ihr", "können Sie"),
    ("bietet ihr", "bieten Sie"),
    ("schickt ihr", "schicken Sie"),
    ("seid ihr", "sind Sie"),
    ("kannst du", "können Sie"),
    ("könntest du", "könnten Sie"),
    ("hast du", "haben Sie"),
    ("bist du", "sind Sie"),
    ("schickst du", "schicken Sie"),
    ("weißt du", "wissen Sie"),
    ("gibst du", "geben Sie"),
    ("danke dir", "danke Ihnen"),
    ("dank dir", "danke Ihnen"),
    ("dir", "Ihnen"),
    ("dich", "Sie"),
    ("euch", "Ihnen"),
    ("dein", "Ihr"),
    ("deine", "Ihre"),
    ("deinen", "Ihren"),
    ("deinem", "Ihrem"),
    ("deiner", "Ihrer"),
    ("euer", "Ihr"),
    ("eure", "Ihre"),
    ("euren", "Ihren"),
    ("eurem", "Ihrem"),
)


def _alternation(words: list[str]) -> re.Pattern[str]:
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in ordered) + r")\b", re.IGNORECASE)


_REGIONAL_RE = _alternation(list(_REGIONAL))
_REGISTER_MAP = {informal: formal for informal, formal in _REGISTER}
_REGISTER_RE = _alternation(list(_REGISTER_MAP))
_GERMAN_HINT = re.compile(
    r"\b(?:ich|und|nicht|kein|keine|mein|meine|meinen|bitte|danke|ist|sind|habe|hat|der|das|den|dem|des|"
    r"ein|eine|einen|im|mit|für|auf|vom|zum|wo|wann|wie|warum|sie|du|ihr|hallo|es|auch|gibt|bin|hier|noch|"
    r"schon|mir|mich|uns)\b",
    re.IGNORECASE,
)


def _keep_case(original: str, replacement: str) -> str:
    return replacement[:1].upper() + replacement[1:] if original[:1].isupper() else replacement


def standardise(text: str) -> str:
    """``text`` with the regional words, greetings and informal forms above in Standard German (Sie-form).
    A text without a common German word is returned unchanged (English "dir" or "Velo" stay)."""
    text = _FORMAL_GREETINGS.sub(lambda m: _keep_case(m.group(), "guten Tag"), text)  # German only
    if not _GERMAN_HINT.search(text):
        return text
    text = _INFORMAL_GREETINGS.sub(lambda m: _keep_case(m.group(), "hallo"), text)
    text = _REGIONAL_RE.sub(lambda m: _keep_case(m.group(), _REGIONAL[m.group().lower()]), text)
    return _REGISTER_RE.sub(lambda m: _keep_case(m.group(), _REGISTER_MAP[m.group().lower()]), text)
