"""Find and redact personal data before text reaches an LLM, a log line or a flow parameter.

`redact(text)` replaces each finding with a placeholder like `[EMAIL_1]` and returns the per-turn
mapping placeholder -> original; `restore(text, mapping)` puts the originals back. The mapping stays
inside the engine; only placeholders and entity kinds/spans leave it.

The detectors live beside this module: `pii_numbers` (IBAN, card, tax and insurance ids, phone
numbers), `pii_dates` (dates of birth), `pii_places` (postal addresses), `pii_names` (person names),
with the checksums in `pii_checks`. Customer, policy, claim and order references are configurable
`PatternRule`s. PiiKind values are stored in timeline events: add kinds, never rename one.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from understanding.pii_checks import iban_is_valid, luhn_is_valid
from understanding.pii_dates import birth_date_spans
from understanding.pii_names import person_spans
from understanding.pii_numbers import card_spans, iban_spans, insurance_id_spans, phone_spans, tax_id_spans
from understanding.pii_places import address_spans

__all__ = [
    "PatternRule",
    "PiiConfig",
    "PiiEntity",
    "PiiKind",
    "RedactedText",
    "Redactor",
    "iban_is_valid",
    "luhn_is_valid",
    "redact",
    "restore",
]


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
    DATE_OF_BIRTH = "DATE_OF_BIRTH"
    INSURANCE_ID = "INSURANCE_ID"
    TAX_ID = "TAX_ID"
    CUSTOMER_ID = "CUSTOMER_ID"


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
    PatternRule(kind=PiiKind.CUSTOMER_ID, pattern=r"\b(?:CUST|KD)-\d{3,10}\b"),
    PatternRule(
        kind=PiiKind.CUSTOMER_ID,
        pattern=r"(?i:\b(?:kundennummer|kunden-?nr\.?|kundennr\.?|kd\.?-?nr\.?|kundenkonto|customer\s+(?:id|number|no\.?|#)"
        r"|client\s+(?:id|number)|account\s+(?:id|number|no\.?))(?:\s+(?:is|ist|lautet))?\s*[:#]?\s*)"
        r"(?P<value>(?:[A-Z]{1,4}-?)?\d(?:-?\d){3,14})\b",
    ),
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


_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_Detector = Callable[[str, Sequence[tuple[int, int]]], Iterable[tuple[int, int]]]
_PLACEHOLDER = re.compile(r"\[(?:" + "|".join(k.value for k in PiiKind) + r")_\d+\]")


class Redactor:
    """Compiled detectors for one configuration; cheap to call, safe to share."""

    def __init__(self, config: PiiConfig | None = None) -> None:
        self.config = config or PiiConfig()
        self._patterns = [(rule.kind, re.compile(rule.pattern)) for rule in self.config.patterns]
        self._detectors = self._build_detectors()

    def find(self, text: str) -> list[tuple[PiiKind, int, int]]:
        """Non-overlapping findings; earlier detectors (see `_detectors`) win overlaps."""
        found: list[tuple[PiiKind, int, int]] = []
        taken: list[tuple[int, int]] = []
        for kind, detector in self._detectors:
            if kind not in self.config.kinds:
                continue
            for start, end in detector(text, taken):
                if start >= end or any(start < e and s < end for s, e in taken):
                    continue
                found.append((kind, start, end))
                taken.append((start, end))
        return sorted(found, key=lambda f: f[1])

    @staticmethod
    def _rule_spans(regex: re.Pattern[str]) -> _Detector:
        def spans(text: str, _taken: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int]]:
            for m in regex.finditer(text):
                yield m.span("value") if "value" in regex.groupindex else m.span()

        return spans

    def _build_detectors(self) -> list[tuple[PiiKind, _Detector]]:
        """Every detector in priority order: checksummed numbers, the configured patterns (in their
        order), structured ids, dates of birth, phone numbers, addresses, names."""
        regions = self.config.phone_regions
        detectors: list[tuple[PiiKind, _Detector]] = [
            (PiiKind.EMAIL, lambda text, _: (m.span() for m in _EMAIL.finditer(text))),
            (PiiKind.IBAN, lambda text, _: iban_spans(text)),
            (PiiKind.CARD, lambda text, _: card_spans(text)),
        ]
        detectors += [(kind, self._rule_spans(regex)) for kind, regex in self._patterns]
        detectors += [
            (PiiKind.TAX_ID, lambda text, _: tax_id_spans(text)),
            (PiiKind.INSURANCE_ID, lambda text, _: insurance_id_spans(text)),
            (PiiKind.DATE_OF_BIRTH, lambda text, _: birth_date_spans(text)),
            (PiiKind.PHONE, lambda text, taken: phone_spans(text, regions, taken=taken)),
            (PiiKind.ADDRESS, lambda text, _: address_spans(text)),
            (PiiKind.PERSON, lambda text, _: person_spans(text)),
        ]
        return detectors

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
