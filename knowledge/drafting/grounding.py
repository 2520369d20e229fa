"""Grounding check: every number, date, amount and id in a draft must come from its context,
every cited source must exist, and promises the context does not make are flagged."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict

__all__ = ["GroundingReport", "check_grounding"]

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        zip(
            (
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ),
            (
                "januar",
                "februar",
                "märz",
                "april",
                "mai",
                "juni",
                "juli",
                "august",
                "september",
                "oktober",
                "november",
                "dezember",
            ),
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
            ("jan", "feb", "mär", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "dez"),
            strict=True,
        )
    )
    for name in names
}
_MONTH = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))

_ID = re.compile(r"\b[A-Z]{2,5}-\d[\dA-Z]*(?:-[\dA-Z]+)*\b")
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DMY = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_D_MONTH_Y = re.compile(rf"\b(\d{{1,2}})\.?\s+({_MONTH})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_D_Y = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")

_PROMISES = (
    r"\bguarantee",
    r"\bgarantier",
    r"\bwe will (?:refund|reimburse|pay|replace|compensate|cover)",
    r"\bwe(?:'ll| will) waive",
    r"\b(?:erstatten|ersetzen|zahlen|übernehmen|bezahlen) wir\b",
    r"\bwir werden (?:\w+ ){0,4}(?:erstatten|ersetzen|zahlen|übernehmen)",
    r"\bapproved\b",
    r"\b(?:genehmigt|bewilligt|anerkannt)\b",
    r"\bfree of charge\b",
    r"\bkostenlos\b",
    r"\bcompensation\b",
    r"\bentschädigung\b",
    r"\bgutschrift\b",
    r"\bvoucher\b",
    r"\bgutschein\b",
)


class GroundingReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    grounded: bool
    problems: tuple[str, ...]


def _date(y: str, m: str | int, d: str) -> dt.date | None:
    try:
        month = m if isinstance(m, int) else int(m)
        return dt.date(int(y), month, int(d))
    except ValueError:
        return None


def _dates(text: str) -> tuple[set[dt.date], str]:
    """Dates found in ``text`` and the text with them blanked out."""
    found: set[dt.date] = set()

    def take(value: dt.date | None) -> str:
        if value is not None:
            found.add(value)
        return " "

    text = _ISO.sub(lambda m: take(_date(m[1], m[2], m[3])), text)
    text = _DMY.sub(lambda m: take(_date(m[3], m[2], m[1])), text)
    text = _D_MONTH_Y.sub(lambda m: take(_date(m[3], _MONTHS[m[2].lower()], m[1])), text)
    text = _MONTH_D_Y.sub(lambda m: take(_date(m[3], _MONTHS[m[1].lower()], m[2])), text)
    return found, text


def _readings(token: str) -> set[Decimal]:
    """Every plausible value of a number written the German or the English way."""
    token = token.strip(".,")
    candidates = {token, token.replace(",", "."), token.replace(".", "").replace(",", "."), token.replace(",", "")}
    out = set()
    for c in candidates:
        try:
            out.add(Decimal(c).normalize())
        except InvalidOperation:
            continue
    return out


def _numbers(text: str) -> list[tuple[str, set[Decimal]]]:
    return [(m.group(0), _readings(m.group(0))) for m in _NUMBER.finditer(text)]


def check_grounding(
    answer: str,
    cited: Sequence[str],
    *,
    context: str,
    known_sources: Collection[str],
    customer_message: str = "",
) -> GroundingReport:
    """Check ``answer`` against ``context`` (+ ``customer_message``). Lists every problem found."""
    problems: list[str] = []
    corpus = f"{context}\n{customer_message}"
    known = set(known_sources)

    if not cited:
        problems.append("the draft cites no source")
    for source in cited:
        if source not in known:
            problems.append(f"cites unknown source '{source}'")

    corpus_ids = {i.upper() for i in _ID.findall(corpus)}
    corpus_dates, _ = _dates(corpus)
    corpus_numbers: set[Decimal] = set()
    for _, readings in _numbers(corpus):
        corpus_numbers |= readings
    for d in corpus_dates:
        corpus_numbers |= {Decimal(d.day), Decimal(d.month), Decimal(d.year)}

    ids = _ID.findall(answer)
    for ident in ids:
        if ident.upper() not in corpus_ids:
            problems.append(f"id '{ident}' does not appear in the context")
    rest = _ID.sub(" ", answer)
    dates, rest = _dates(rest)
    for d in sorted(dates):
        if d not in corpus_dates:
            problems.append(f"date {d.isoformat()} does not appear in the context")
    for raw, readings in _numbers(rest):
        if readings and not (readings & corpus_numbers):
            problems.append(f"number '{raw}' does not appear in the context")

    lowered_corpus = corpus.lower()
    for pattern in _PROMISES:
        for match in re.finditer(pattern, answer, flags=re.IGNORECASE):
            if not re.search(pattern, lowered_corpus, flags=re.IGNORECASE):
                problems.append(f"makes a promise the context does not support: '{match.group(0)}'")

    unique = tuple(dict.fromkeys(problems))
    return GroundingReport(grounded=not unique, problems=unique)
