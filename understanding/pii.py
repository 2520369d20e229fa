"""Find and redact personal data before text reaches an LLM, a log line or a flow parameter.

`redact(text)` replaces each finding with a placeholder like `[EMAIL_1]` and returns the per-turn
mapping placeholder -> original; `restore(text, mapping)` puts the originals back. The mapping stays
inside the engine; only placeholders and entity kinds/spans leave it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from functools import lru_cache

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["PiiKind", "PatternRule", "PiiConfig", "PiiEntity", "RedactedText", "Redactor", "redact", "restore",
           "iban_is_valid", "luhn_is_valid"]


@enum.unique
class PiiKind(enum.StrEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    IBAN = "IBAN"
    CARD = "CARD"
    ADDRESS = "ADDRESS"
    PERSON = "PERSON"
    ORDER_NUMBER = "ORDER_NUMBER"
    POLICY_NUMBER = "POLICY_NUMBER"
    CLAIM_NUMBER = "CLAIM_NUMBER"


class PatternRule(BaseModel):
    """A configurable identifier pattern. If the regex has a group named `value`, only it is redacted."""

    model_config = ConfigDict(frozen=True)

    kind: PiiKind
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}; fix the pattern") from None
        return value


DEFAULT_PATTERNS: tuple[PatternRule, ...] = (
    PatternRule(kind=PiiKind.POLICY_NUMBER, pattern=r"\bPOL-\d{6,10}\b"),
    PatternRule(kind=PiiKind.CLAIM_NUMBER, pattern=r"\bCLM-\d{4}-\d{4,6}\b"),
    PatternRule(
        kind=PiiKind.ORDER_NUMBER,
        pattern=r"(?i:\b(?:order|bestellung|bestellnummer|bestell-nr\.?|bestellnr\.?|auftrag|auftragsnummer)"
        r"(?:\s*(?:no\.?|nr\.?|number|nummer|id))?\s*[:#]?\s*)(?P<value>#?\d{5,12})\b",
    ),
)


class PiiConfig(BaseModel):
    """What to look for. Phone numbers without a +country prefix are tried against `phone_regions`."""

    model_config = ConfigDict(frozen=True)

    phone_regions: tuple[str, ...] = ("DE", "CH", "AT", "GB", "US")
    patterns: tuple[PatternRule, ...] = DEFAULT_PATTERNS
    kinds: frozenset[PiiKind] = Field(default_factory=lambda: frozenset(PiiKind))

    @field_validator("phone_regions")
    @classmethod
    def _known_regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = phonenumbers.SUPPORTED_REGIONS
        bad = [r for r in value if r.upper() not in known]
        if bad:
            raise ValueError(f"unknown phone region(s) {bad}; use ISO 3166 alpha-2 codes such as 'DE' or 'GB'")
        return tuple(r.upper() for r in value)


class PiiEntity(BaseModel):
    """A finding: kind and span in the original text, and its placeholder. No raw value."""

    model_config = ConfigDict(frozen=True)

    kind: PiiKind
    start: int
    end: int
    placeholder: str


class RedactedText(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    mapping: dict[str, str]
    entities: tuple[PiiEntity, ...]

    @property
    def kinds(self) -> list[PiiKind]:
        return sorted({e.kind for e in self.entities})


def luhn_is_valid(digits: str) -> bool:
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_is_valid(candidate: str) -> bool:
    iban = re.sub(r"\s+", "", candidate).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}")
_CARD = re.compile(r"(?<![A-Za-z]{2}\d{2} )(?<![A-Za-z]{2}\d{2})\b\d(?:[ -]?\d){12,18}\b")
_NAME = r"[A-ZÄÖÜ][a-zäöüßéèáàçñ]+(?:[- ](?:von |van |de )?[A-ZÄÖÜ][a-zäöüßéèáàçñ]+){0,2}"
_NOT_SIGN_OFF = (r"(?!(?:Viele|Liebe|Beste|Freundliche|Mit|Best|Kind|Many|Regards|Grüße|Gruß|Danke|Thanks|"
                 r"Cheers|Sincerely|Yours)\b)")
_PERSON = [
    re.compile(r"(?i:\b(?:my name is|my name's|mein name ist|ich heiße|ich heisse|"
               r"hier spricht|je m'appelle|mi chiamo)\s+)(?P<value>" + _NAME + ")"),
    re.compile(r"(?i:\b(?:dear|hello|hi|hallo|guten tag|sehr geehrte[rs]?|liebe[rs]?)\s+"
               r"(?:mr\.?|mrs\.?|ms\.?|miss|dr\.?|herr|frau)\s+)(?P<value>" + _NAME + ")"),
    re.compile(r"(?i:\b(?:regards|best regards|kind regards|best|cheers|thanks|thank you|sincerely|yours|"
               r"mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|viele grüße|liebe grüße|"
               r"beste grüße|lg|mfg|gruß|grüße|danke)\s*[,!.]?\s*\n?\s*(?:(?:dr|prof)\.?\s+)?)"
               r"(?P<value>" + _NOT_SIGN_OFF + _NAME + r")\s*$",
               re.MULTILINE),
]
_STREET_DE = (r"[A-ZÄÖÜ][\wäöüß.-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|steig|"
              r"pfad|markt)(?: [A-ZÄÖÜ]?[\wäöüß.-]+)?\s+\d{1,4}\s?[a-zA-Z]?")
_STREET_SPLIT_DE = (r"(?:[A-ZÄÖÜ][\wäöüß-]+ )+(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Ring|Damm|Ufer)"
                    r"\s+\d{1,4}\s?[a-zA-Z]?")
_STREET_EN = (r"\b\d{1,5}[a-zA-Z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|"
              r"Drive|Dr\.?|Way|Boulevard|Blvd\.?|Court|Ct\.?|Place|Pl\.?|Close|Crescent|Terrace|Square)\b")
_ADDRESS = [
    re.compile(r"\b(?:" + _STREET_DE + "|" + _STREET_SPLIT_DE + r")(?:,?\s+\d{4,5}\s+[A-ZÄÖÜ][\wäöüß-]+)?"),
    re.compile(_STREET_EN + r"(?:,?\s+[A-Z][a-z]+)?(?:,?\s+[A-Z]{2}\s+\d{5})?"),
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b"),  # UK postcode
]
_PLACEHOLDER = re.compile(r"\[(?:" + "|".join(k.value for k in PiiKind) + r")_\d+\]")


class Redactor:
    """Compiled detectors for one configuration; cheap to call, safe to share."""

    def __init__(self, config: PiiConfig | None = None) -> None:
        self.config = config or PiiConfig()
        self._patterns = [(rule.kind, re.compile(rule.pattern)) for rule in self.config.patterns]

    def find(self, text: str) -> list[tuple[PiiKind, int, int]]:
        """Non-overlapping findings; earlier detectors (checksummed numbers first) win overlaps."""
        found: list[tuple[PiiKind, int, int]] = []
        taken: list[tuple[int, int]] = []
        for kind, start, end in self._candidates(text):
            if kind not in self.config.kinds or start >= end:
                continue
            if any(start < e and s < end for s, e in taken):
                continue
            found.append((kind, start, end))
            taken.append((start, end))
        return sorted(found, key=lambda f: f[1])

    def _candidates(self, text: str) -> Iterator[tuple[PiiKind, int, int]]:
        for m in _EMAIL.finditer(text):
            yield PiiKind.EMAIL, m.start(), m.end()
        for kind, regex in self._patterns:
            for m in regex.finditer(text):
                span = m.span("value") if "value" in regex.groupindex else m.span()
                yield kind, span[0], span[1]
        for m in _IBAN.finditer(text):
            raw = m.group()
            for cut in range(len(raw), 14, -1):  # the greedy match may have swallowed a following word
                if raw[cut - 1] != " " and iban_is_valid(raw[:cut]):
                    yield PiiKind.IBAN, m.start(), m.start() + cut
                    break
        for m in _CARD.finditer(text):
            if luhn_is_valid(re.sub(r"[ -]", "", m.group())):
                yield PiiKind.CARD, m.start(), m.end()
        for region in self.config.phone_regions:
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
                yield PiiKind.PHONE, match.start, match.end
        for regex in _ADDRESS:
            for m in regex.finditer(text):
                yield PiiKind.ADDRESS, m.start(), m.end()
        for regex in _PERSON:
            for m in regex.finditer(text):
                yield PiiKind.PERSON, m.start("value"), m.end("value")

    def redact(self, text: str) -> RedactedText:
        counters: dict[PiiKind, int] = {}
        by_value: dict[tuple[PiiKind, str], str] = {}
        mapping: dict[str, str] = {}
        entities: list[PiiEntity] = []
        pieces: list[str] = []
        cursor = 0
        for kind, start, end in self.find(text):
            original = text[start:end]
            key = (kind, original)
            if key not in by_value:
                counters[kind] = counters.get(kind, 0) + 1
                placeholder = f"[{kind.value}_{counters[kind]}]"
                by_value[key] = placeholder
                mapping[placeholder] = original
            placeholder = by_value[key]
            entities.append(PiiEntity(kind=kind, start=start, end=end, placeholder=placeholder))
            pieces.append(text[cursor:start])
            pieces.append(placeholder)
            cursor = end
        pieces.append(text[cursor:])
        return RedactedText(text="".join(pieces), mapping=mapping, entities=tuple(entities))


@lru_cache(maxsize=1)
def _default_redactor() -> Redactor:
    return Redactor()


def redact(text: str, *, config: PiiConfig | None = None) -> RedactedText:
    """Redact with the default configuration, or with `config`."""
    redactor = _default_redactor() if config is None else Redactor(config)
    return redactor.redact(text)


def restore(text: str, mapping: dict[str, str]) -> str:
    """Put originals back for every known placeholder (e.g. in an LLM draft); unknown ones stay."""
    return _PLACEHOLDER.sub(lambda m: mapping.get(m.group(), m.group()), text)
