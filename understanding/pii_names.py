"""Spans of person names, found by what announces them (there is no name list):

- an introduction: "my name is", "mein Name ist", "ich heiße", "hier spricht", "Kontoinhaber:",
  "account holder", "Versicherungsnehmer:", "my wife", "mein Sohn", "geb." (a maiden name);
- a weaker one that takes two or more name words: "this is", "I'm", "ich bin", "hier ist";
- a title: "Herr", "Frau", "Mr", "Mrs", "Ms", "Dr.", "Prof." (also "Herr Dr. Schmidt");
- "Ich, Anna Weber, ..." / "I, John Smith, ...";
- "... speaking" / "... here" / "... am Apparat" at the start of a message or after a greeting, and a sign-off ("Viele Grüße\\nAnna Weber");
- a bare full name of two or more words that ends the message after its last sentence ("... sagen? Linh Nguyen").
A name is one to four capitalised words ("O'Connor", "McDonald", "Wieloch-Bolnbach"), with particles
such as "von", "van der", "de" between them; the title itself is not redacted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["person_spans"]

_UP = "".join(c for c in map(chr, range(0x41, 0x250)) if c.isalpha() and c.isupper())
_LO = "".join(c for c in map(chr, range(0x61, 0x250)) if c.isalpha() and c.islower())
# Capitalised words right after a cue that are not names: pronouns, months, days, customer roles.
_NOT_A_NAME_AFTER_TITLE = (
    r"(?:Ihr|Ihre|Ihren|Ihrem|Ihnen|Sie|Ich|Wir|Kunde|Kundin|Neukunde|Mitglied|Rentner|Rentnerin|Versicherungsnehmer|"
    r"Versicherungsnehmerin|Mieter|Mieterin|Student|Studentin|Frau|Herr|Not|Very|So|The|A|An|Your|Still|Really|Just|"
    r"Sorry|Happy|Writing|Calling|Here|Hier|Customer|Member|Viele|Liebe|Beste|Freundliche|Mit|Best|Kind|Many|Regards|"
    r"Grüße|Gruß|Danke|Thanks|Cheers|Sincerely|Yours)\b"
)
_NOT_A_NAME = (
    rf"(?:{_NOT_A_NAME_AFTER_TITLE}|(?:January|February|March|April|May|June|July|August|"
    r"September|October|November|December|Januar|Februar|März|Mai|Juni|Juli|Oktober|Dezember|Monday|Tuesday|"
    r"Wednesday|Thursday|Friday|Saturday|Sunday|Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag)\b)"
)
_WORD = rf"[{_UP}](?:[{_LO}]+(?:[{_UP}][{_LO}]+)?|['’][{_UP}][{_LO}]+)(?:-[{_UP}][{_LO}]+)*"
_INITIAL = rf"[{_UP}]\.(?:-{_WORD})?"  # "J.", "H.-Dieter"
_PARTICLE = r"(?:von|van|de|der|den|del|della|di|da|du|dos|zu|zum|vom|ten|ter|le|la|af|bin|al)"
_TAIL = rf"(?: (?:{_PARTICLE} ){{0,2}}{_WORD})"
_NAME = rf"(?!{_NOT_A_NAME})(?:{_WORD}|{_INITIAL}(?={_TAIL})){_TAIL}{{0,3}}"
_NAME2 = rf"(?!{_NOT_A_NAME})(?:{_WORD}|{_INITIAL}){_TAIL}{{1,3}}"  # two words or more
_TITLED_NAME = rf"(?!{_NOT_A_NAME_AFTER_TITLE})(?:{_WORD}|{_INITIAL}(?={_TAIL})){_TAIL}{{0,3}}"
# Brands written like a title and a surname.
_BRAND = r"(?:Dr\.? (?:Oetker|Martens|Pepper|Hauschka|Best|Beckmann|Scheller)|Mr\.? (?:Clean|Proper|Muscle)|Mrs\.? Baker's)\b"
_TITLE = r"(?:Herrn?|Frau|Hr\.|Fr\.|Mr\.?|Mrs\.?|Ms\.?|Miss|Mx\.?|Dr\.?|Prof\.?|Dipl\.-Ing\.)"

_STRONG = (
    r"my name is|my name's|my name:|name is|mein name ist|mein name lautet|ich heiße|ich heisse|hier spricht|"
    r"am apparat ist|kontoinhaber(?:in)?|account holder|policy ?holder|versicherungsnehmer(?:in)?|"
    r"versichert ist|versicherte[rn]?|the insured person is|insured person|empfänger(?:in)?|recipient|"
    r"on behalf of|im auftrag von|im namen von|z\. ?hd\.?|c/o|geb\.|née|"
    r"my (?:wife|husband|son|daughter|mother|father|mum|mom|dad|partner|brother|sister)|"
    r"mein(?:e[rmn]?)? (?:frau|mann|sohn|tochter|mutter|vater|partner|partnerin|bruder|schwester|ehefrau|"
    r"ehemann|lebensgefährte|lebensgefährtin)"
)
_GREETING = (
    r"hi|hey|hiya|hello|good (?:morning|afternoon|evening)|morning|hallo|moin|servus|grüß gott|grüezi|"
    r"guten (?:tag|morgen|abend)"
)
_WEAK = r"this is|it's|it is|i am|i'm|ich bin|hier ist"
_SIGN_OFF = (
    r"regards|best regards|kind regards|best wishes|best|cheers|thanks|many thanks|thank you|sincerely|"
    r"yours faithfully|yours|mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|viele grüße|"
    r"liebe grüße|beste grüße|herzliche grüße|lg|mfg|vg|gruß|grüße|danke"
)

_PATTERNS = (
    re.compile(rf"(?i:\b(?:{_STRONG})\b\s*[:,]?\s*)(?:{_TITLE} )*(?P<value>{_NAME})"),
    re.compile(rf"(?i:\b(?:{_WEAK})\s+)(?P<value>{_NAME2})"),
    re.compile(rf"\b(?!{_BRAND}){_TITLE} (?:{_TITLE} )*(?P<value>{_TITLED_NAME})"),
    re.compile(rf"\b(?:Ich|I), (?P<value>{_NAME2}),"),
    re.compile(
        rf"(?:^|[.!?]\s+|\b(?i:{_GREETING}),?\s+)(?P<value>{_NAME2})"
        rf"(?=,? (?i:speaking|here|on the line|hier|am apparat|am telefon)\b)",
        re.MULTILINE,
    ),
    re.compile(
        rf"(?i:\b(?:{_SIGN_OFF})\s*[,!.]?[ \t]*\n?[ \t]*)(?:{_TITLE} )*(?P<value>{_NAME})[ \t]*[.!]?[ \t]*$",
        re.MULTILINE,
    ),
    # a bare full name signing the message: after its last sentence, at the very end
    re.compile(rf"[.!?:][ \t]*\n?[ \t]*(?P<value>{_NAME2})[ \t]*[.!]?\s*\Z"),
)


def person_spans(text: str) -> Iterator[tuple[int, int]]:
    for regex in _PATTERNS:
        for m in regex.finditer(text):
            yield m.span("value")
