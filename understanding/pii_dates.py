"""Spans of dates of birth: a full date (with year) that a birth cue announces ("geb.", "geboren am",
"Geburtsdatum:", "born on", "DOB:", "date of birth is") or that "geboren"/"born" follows. Any other
date (an order, a delivery, a loss) is no personal data and stays."""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["birth_date_spans"]

_MONTHS_DE = (
    r"Januar|Jänner|Februar|Feber|März|Maerz|April|Mai|Juni|Juli|August|September|Oktober|November|"
    r"Dezember|Jan|Feb|Mär|Mrz|Apr|Jun|Jul|Aug|Sept|Sep|Okt|Nov|Dez"
)
_MONTHS_EN = (
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE = (
    r"(?:\d{1,2}\.\s?\d{1,2}\.\s?(?:\d{4}|\d{2})(?!\d)"
    rf"|\d{{1,2}}\.?\s+(?:{_MONTHS_DE})\.?\s+\d{{4}}"
    rf"|\d{{1,2}}{_ORDINAL}\s+(?:of\s+)?(?:{_MONTHS_EN})\.?,?\s+\d{{4}}"
    rf"|(?:{_MONTHS_EN})\.?\s+\d{{1,2}}{_ORDINAL},?\s+\d{{4}}"
    r"|\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})(?!\d)"
    r"|\d{4}-\d{2}-\d{2})(?!\d)"
)
_CUE = (
    r"\b(?:geb\.(?:-?datum\b)?|d\.o\.b\.?|(?:geboren(?:\s+am)?|geburtsdatum|gebdatum|geburtstag|born(?:\s+on)?|dob|"
    r"date\s+of\s+birth|birth\s?date|birthday)\b)"
)
# Up to three words between the cue and the date ("Geburtsdatum zur Bestätigung:", "date of birth is"),
# but none that turns to another date ("geboren, nicht am ...", "born ... but since ...").
_TURN = r"(?:nicht|not|und|and|aber|but|sondern|seit|since|bis|until|vom|from|statt|instead)\b"
_GAP = rf"[\s:=,.()\-–]*(?:(?!{_TURN})[^\W\d_]{{1,15}}[\s:=,.()\-–]+){{0,3}}?"
_BEFORE = re.compile(rf"{_CUE}{_GAP}(?P<value>{_DATE})", re.IGNORECASE)
_AFTER = re.compile(rf"\b(?P<value>{_DATE})\s+(?:geboren|born)\b", re.IGNORECASE)


def birth_date_spans(text: str) -> Iterator[tuple[int, int]]:
    for regex in (_BEFORE, _AFTER):
        for m in regex.finditer(text):
            yield m.span("value")
