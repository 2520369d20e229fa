"""Spans of numeric identifiers in free text: IBANs, payment cards, tax ids, insurance ids, phone numbers.

Each finder returns `(start, end)` spans; `understanding.pii` gives them their kind and resolves
overlaps. Checksummed identifiers are only reported when the checksum holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import phonenumbers

from understanding.pii_checks import IBAN_LENGTHS, iban_is_valid, luhn_is_valid, ssn_is_valid, steuer_id_is_valid

__all__ = ["card_spans", "iban_spans", "insurance_id_spans", "phone_spans", "tax_id_spans"]

Span = tuple[int, int]

_IBAN_START = re.compile(r"\b([A-Za-z]{2})\d{2}(?=[ ]?[A-Za-z0-9])")
# Plain, 4-4-4-4(-3) with one separator, or 4-6-5 / 4-6-4 (Amex, Diners); never after "+" (a phone number).
_CARD = re.compile(
    r"(?<![\w+])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|\d{4}([ -])\d{6}\2\d{4,5})"
    r"(?![\w-])"
)
_STEUER_ID = re.compile(r"(?<![\w+])(?:\d{11}|\d{2} \d{3} \d{3} \d{3})(?![\w-])")
_STEUER_ID_CUED = re.compile(
    r"(?i:\b(?:steuer-?id|steuer-?identifikationsnummer|steuerliche\s+identifikationsnummer|"
    r"identifikationsnummer|idnr\.?)(?:\s+(?:ist|lautet))?\s*[:#]?\s*)"
    r"(?P<value>\d{11}|\d{2} \d{3} \d{3} \d{3})(?![\w-])"
)
_SSN = re.compile(r"(?<![\w+-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])")
_SSN_CUED = re.compile(
    r"(?i:\b(?:ssn|social\s+security(?:\s+(?:number|no\.?))?)(?:\s+is)?\s*[:#]?\s*)"
    r"(?P<value>\d{9})\b"
)
_NI_NUMBER = re.compile(r"\b[A-Z]{2}(?: ?\d{2}){3} ?[A-D]\b")
_KVNR = re.compile(r"\b[A-Z]\d{9}\b")
_DATE_LIKE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_NATIONAL_PREFIX = ("+", "0", "(")
_PHONE_WINDOW = re.compile(r"[+(]?\d[\d \t()./-]*\d\)?")
_MIN_PHONE_DIGITS = 7


def iban_spans(text: str) -> Iterator[Span]:
    """IBANs written compact or in groups of four; the country's length bounds the match."""
    for m in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(m.group(1).upper())
        if length is None:
            continue
        count, pos = 4, m.end()
        while count < length and pos < len(text):
            ch = text[pos]
            if ch.isascii() and ch.isalnum():
                count += 1
            elif not (ch == " " and pos + 1 < len(text) and text[pos + 1].isalnum()):
                break
            pos += 1
        if count == length and (pos == len(text) or not text[pos].isalnum()) and iban_is_valid(text[m.start() : pos]):
            yield m.start(), pos


def card_spans(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        if luhn_is_valid(re.sub(r"[ -]", "", m.group())):
            yield m.span()


def tax_id_spans(text: str) -> Iterator[Span]:
    """German Steuer-IDs (checksum, or any eleven digits after "Steuer-ID"), US SSNs (issuing rules; a bare nine digits only after "SSN") and
    UK National Insurance numbers."""
    for m in _STEUER_ID.finditer(text):
        if steuer_id_is_valid(m.group().replace(" ", "")):
            yield m.span()
    for m in _STEUER_ID_CUED.finditer(text):
        yield m.span("value")
    for m in _SSN.finditer(text):
        if ssn_is_valid(m.group(1), m.group(3), m.group(4)):
            yield m.span()
    for m in _SSN_CUED.finditer(text):
        value = m.group("value")
        if ssn_is_valid(value[:3], value[3:5], value[5:]):
            yield m.span("value")
    for m in _NI_NUMBER.finditer(text):
        yield m.span()


def insurance_id_spans(text: str) -> Iterator[Span]:
    """German health-insurance numbers (Krankenversichertennummer): one capital letter and nine digits.
    The check digit is not required: a mistyped number is still the customer's."""
    for m in _KVNR.finditer(text):
        yield m.span()


def phone_spans(text: str, regions: Sequence[str], *, taken: Sequence[Span] = ()) -> Iterator[Span]:
    """Numbers libphonenumber calls valid for one of `regions`. Outside North America a number is written
    with its trunk "0" or an international "+"/"00", so a bare digit run there is not taken as a phone
    number (it is an order or tax number far more often); dates and short numbers never are.

    Only runs of digits and separators with at least seven digits that no earlier finding (`taken`)
    covers are handed to libphonenumber, which keeps this cheap on every message."""
    for window in _PHONE_WINDOW.finditer(text):
        start, end = window.span()
        if sum(ch.isdigit() for ch in window.group()) < _MIN_PHONE_DIGITS:
            continue
        if any(s <= start and end <= e for s, e in taken):
            continue
        lo, hi = max(0, start - 1), min(len(text), end + 1)  # the matcher looks at one character around
        piece = text[lo:hi]
        # An international number parses the same from every region: one pass is enough. Written with
        # "+" it is a phone number even when its range is not allocated (yet, or any more, or a test
        # range such as +44 7700 900xxx): a possible length is enough to redact it.
        international = window.group().startswith("+")
        leniency = phonenumbers.Leniency.POSSIBLE if international else phonenumbers.Leniency.VALID
        for region in regions[:1] if international else regions:
            for match in phonenumbers.PhoneNumberMatcher(piece, region, leniency=leniency):
                raw = match.raw_string
                digits = sum(ch.isdigit() for ch in raw)
                if digits < _MIN_PHONE_DIGITS or _DATE_LIKE.fullmatch(raw):
                    continue
                if not raw.startswith(_NATIONAL_PREFIX) and not (region in {"US", "CA"} and digits in {10, 11}):
                    continue
                yield lo + match.start, lo + match.end
