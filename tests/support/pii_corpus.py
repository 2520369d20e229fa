"""Synthetic German and English customer-service messages with gold PII spans (Faker, fixed seeds).

`generate(seed, n)` fills the templates of `tests/support/pii_templates.py` with Faker values of the
locales de_DE, de_AT, de_CH (German) and en_US, en_GB (English). Every sample records the exact span
and kind of each piece of personal data it holds (`gold`) and of each look-alike that must stay
(`distractors`: order numbers, claim refs, amounts, ordinary dates, products, tracking numbers, times).

The numbers are made like real ones, independently of the redactor's own checks: card numbers come
from Faker (Luhn-valid), IBANs from Faker (mod-97 valid), phone numbers from Faker but redrawn until
libphonenumber calls them valid for the locale's country (Faker's random digits often are not a real
number), Steuer-IDs and health-insurance numbers (KVNR) with their check digits, UK NI numbers with
an issued prefix, US SSNs from Faker. Seeds: DEV_SEED to tune on, TEST_SEED to report on.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
import re
from collections.abc import Callable

import phonenumbers
from faker import Faker
from pydantic import BaseModel, ConfigDict

from tests.support.pii_templates import HOLDOUT_DE, HOLDOUT_EN, TEMPLATES_DE, TEMPLATES_EN
from understanding.pii import PiiKind

__all__ = [
    "DEV_SEED",
    "LOCALES",
    "TEST_SEED",
    "UNIT_SEED",
    "Distractor",
    "DistractorKind",
    "GoldSpan",
    "Sample",
    "generate",
    "kvnr",
    "steuer_id",
]

DEV_SEED = 20260314
TEST_SEED = 90210417
UNIT_SEED = 4242

LOCALES: dict[str, tuple[str, ...]] = {"de": ("de_DE", "de_AT", "de_CH"), "en": ("en_US", "en_GB")}
_REGION = {"de_DE": "DE", "de_AT": "AT", "de_CH": "CH", "en_US": "US", "en_GB": "GB"}
_TEMPLATES = {"de": TEMPLATES_DE, "en": TEMPLATES_EN}
_HOLDOUT = {"de": HOLDOUT_DE, "en": HOLDOUT_EN}


@enum.unique
class DistractorKind(enum.StrEnum):
    ORDER_NUMBER = "ORDER_NUMBER"
    CLAIM_REF = "CLAIM_REF"
    AMOUNT = "AMOUNT"
    DATE = "DATE"
    PRODUCT = "PRODUCT"
    TRACKING = "TRACKING"
    TIME = "TIME"


class GoldSpan(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: PiiKind
    start: int
    end: int
    value: str


class Distractor(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: DistractorKind
    start: int
    end: int
    value: str


class Sample(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    language: str
    locale: str
    template_id: str
    gold: tuple[GoldSpan, ...]
    distractors: tuple[Distractor, ...]


_GOLD_SLOTS: dict[str, PiiKind] = {
    "name": PiiKind.PERSON,
    "surname": PiiKind.PERSON,
    "first": PiiKind.PERSON,
    "address": PiiKind.ADDRESS,
    "street": PiiKind.ADDRESS,
    "email": PiiKind.EMAIL,
    "phone": PiiKind.PHONE,
    "iban": PiiKind.IBAN,
    "card": PiiKind.CARD,
    "dob": PiiKind.DATE_OF_BIRTH,
    "customer_id": PiiKind.CUSTOMER_ID,
    "policy": PiiKind.POLICY_NUMBER,
    "kvnr": PiiKind.INSURANCE_ID,
    "tax_id": PiiKind.TAX_ID,
}
_DISTRACTOR_SLOTS: dict[str, DistractorKind] = {
    "order": DistractorKind.ORDER_NUMBER,
    "claim": DistractorKind.CLAIM_REF,
    "amount": DistractorKind.AMOUNT,
    "date": DistractorKind.DATE,
    "product": DistractorKind.PRODUCT,
    "tracking": DistractorKind.TRACKING,
    "time": DistractorKind.TIME,
}
_SLOT = re.compile(r"\{(\w+)\}")

_MONTHS_DE = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_PRODUCTS = (
    "iPhone 15 Pro",
    "Samsung Galaxy S23",
    "Bosch Serie 6 WAN28K40",
    "Dyson V15 Detect",
    "Sony WH-1000XM5",
    "Miele Complete C3",
    "Philips Hue Starter Kit",
    "Apple Watch Series 9",
    "Thermomix TM6",
    "KitchenAid Artisan 5KSM175",
    "Nintendo Switch OLED",
    "Garmin Forerunner 265",
    "Canon EOS R50",
    "LG OLED55C37LA",
    "De'Longhi Magnifica S",
    "Lego Technic 42115",
)
_NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NI_UNISSUED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def steuer_id(rng: random.Random) -> str:
    """A German tax id: 11 digits, one digit twice among the first ten, ISO 7064 MOD 11,10 check digit."""
    while True:
        digits = rng.sample(range(10), 9)
        digits.insert(rng.randrange(10), rng.choice(digits))
        if digits[0] == 0:
            continue
        product = 10
        for d in digits:
            total = (d + product) % 10 or 10
            product = (total * 2) % 11
        check = (11 - product) % 10
        return "".join(map(str, digits)) + str(check)


def kvnr(rng: random.Random) -> str:
    """A German health-insurance number (Krankenversichertennummer): a letter, 8 digits and a check digit."""
    letter = rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    body = [int(c) for c in f"{ord(letter) - 64:02d}"] + [rng.randrange(10) for _ in range(8)]
    total = 0
    for i, d in enumerate(body):
        product = d * (2 if i % 2 else 1)
        total += product // 10 + product % 10
    return letter + "".join(map(str, body[2:])) + str(total % 10)


class _Filler:
    """Values for one sample's slots, drawn from one seeded Faker and one seeded Random."""

    def __init__(self, language: str, locale: str, faker: Faker, rng: random.Random) -> None:
        self.language, self.locale, self.fake, self.rng = language, locale, faker, rng
        self.tax_scheme = {"en_US": "ssn", "en_GB": "ni"}.get(locale, "steuer")

    def value(self, slot: str) -> str:
        fake, rng = self.fake, self.rng
        simple: dict[str, Callable[[], str]] = {
            "name": lambda: f"{fake.first_name()} {fake.last_name()}",
            "surname": fake.last_name,
            "first": fake.first_name,
            "street": fake.street_address,
            "address": self._address,
            "email": self._email,
            "phone": self._phone,
            "iban": self._iban,
            "card": self._card,
            "dob": lambda: self._date(fake.date_between_dates(dt.date(1938, 1, 1), dt.date(2007, 12, 31))),
            "date": lambda: self._date(fake.date_between_dates(dt.date(2025, 1, 1), dt.date(2026, 12, 31))),
            "customer_id": self._customer_id,
            "policy": lambda: fake.numerify(rng.choice(("POL-######", "POL-########"))),
            "kvnr": lambda: kvnr(rng),
            "tax_id": self._tax_id,
            "tax_label": self._tax_label,
            "order": lambda: fake.numerify(rng.choice(("1####", "4#####", "5######"))),
            "claim": lambda: f"CLM-{rng.choice((2025, 2026))}-{fake.numerify('0###')}",
            "amount": self._amount,
            "product": lambda: rng.choice(_PRODUCTS),
            "tracking": self._tracking,
            "time": lambda: f"{rng.randint(8, 18)}:{rng.choice(('00', '15', '30', '45'))}",
        }
        return simple[slot]()

    def _address(self) -> str:
        fake = self.fake
        if self.language == "de":
            sep = self.rng.choice((", ", ", ", "\n"))
            return f"{fake.street_address()}{sep}{fake.postcode()} {fake.city()}"
        street = f"{fake.building_number()} {fake.street_name()}"
        if self.locale == "en_US":
            unit = f", {fake.secondary_address()}" if self.rng.random() < 0.3 else ""
            return f"{street}{unit}, {fake.city()}, {fake.state_abbr()} {fake.zipcode()}"
        return f"{street}, {fake.city()}{self.rng.choice((' ', ', '))}{fake.postcode()}"

    def _email(self) -> str:
        return self.fake.free_email() if self.rng.random() < 0.5 else self.fake.email()

    def _phone(self) -> str:
        region = _REGION[self.locale]
        for _ in range(200):
            raw = re.sub(r"\s*x\d+$", "", self.fake.phone_number())
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(raw, region)):
                    return raw
            except phonenumbers.NumberParseException:
                continue
        raise RuntimeError(f"Faker {self.locale} gave no valid phone number in 200 draws; check the Faker version")

    def _iban(self) -> str:
        iban = self.fake.iban()
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if self.rng.random() < 0.6 else iban

    def _card(self) -> str:
        card_type = self.rng.choice(("visa16", "mastercard", "amex"))
        number = self.fake.credit_card_number(card_type=card_type)
        style = self.rng.choice(("space", "dash", "plain"))
        if style == "plain":
            return number
        groups = (4, 6, 5) if len(number) == 15 else (4, 4, 4, 4)
        parts, at = [], 0
        for size in groups:
            parts.append(number[at : at + size])
            at += size
        return (" " if style == "space" else "-").join(parts)

    def _date(self, day: dt.date) -> str:
        d, m, y = day.day, day.month, day.year
        if self.language == "de":
            formats = (f"{d:02d}.{m:02d}.{y}", f"{d}.{m}.{y}", f"{d}. {_MONTHS_DE[m - 1]} {y}", f"{y}-{m:02d}-{d:02d}")
        elif self.locale == "en_US":
            formats = (
                f"{_MONTHS_EN[m - 1]} {d}, {y}",
                f"{m:02d}/{d:02d}/{y}",
                f"{y}-{m:02d}-{d:02d}",
                f"{d} {_MONTHS_EN[m - 1]} {y}",
            )
        else:
            suffix = "th" if 11 <= d <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
            formats = (
                f"{d} {_MONTHS_EN[m - 1]} {y}",
                f"{d:02d}/{m:02d}/{y}",
                f"{y}-{m:02d}-{d:02d}",
                f"{d}{suffix} {_MONTHS_EN[m - 1]} {y}",
            )
        return self.rng.choice(formats)

    def _customer_id(self) -> str:
        local = "KD-######" if self.language == "de" else "CN#######"
        return self.fake.numerify(self.rng.choice(("CUST-####", "CUST-#####", local, "########")))

    def _tax_id(self) -> str:
        rng = self.rng
        if self.tax_scheme == "ssn":
            ssn = self.fake.ssn()
            return rng.choice((ssn, ssn.replace("-", " ")))
        if self.tax_scheme == "ni":
            while (prefix := rng.choice(_NI_FIRST) + rng.choice(_NI_SECOND)) in _NI_UNISSUED:
                pass
            digits = f"{rng.randrange(10**6):06d}"
            suffix = rng.choice("ABCD")
            return rng.choice(
                (f"{prefix}{digits}{suffix}", f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}")
            )
        tax = steuer_id(rng)
        return rng.choice((tax, f"{tax[:2]} {tax[2:5]} {tax[5:8]} {tax[8:]}"))

    def _tax_label(self) -> str:
        if self.tax_scheme == "ssn":
            return self.rng.choice(("SSN", "Social Security number", "social security number"))
        return self.rng.choice(("National Insurance number", "NI number", "NI no."))

    def _amount(self) -> str:
        euros, cents = self.rng.choice((self.rng.randint(5, 99), self.rng.randint(100, 2500))), self.rng.randint(0, 99)
        if self.language == "de":
            whole = f"{euros:,}".replace(",", ".")
            return self.rng.choice((f"{whole},{cents:02d} €", f"{euros} Euro", f"EUR {whole},{cents:02d}"))
        symbol = "$" if self.locale == "en_US" else self.rng.choice(("£", "€"))
        return f"{symbol}{euros:,}.{cents:02d}"

    def _tracking(self) -> str:
        fake = self.fake
        return self.rng.choice(
            (
                fake.numerify("00340434" + "#" * 12),
                "1Z" + fake.bothify("###??##########").upper(),
                fake.bothify("??#########GB").upper(),
            )
        )


def _render(template: str, filler: _Filler) -> tuple[str, list[GoldSpan], list[Distractor]]:
    pieces: list[str] = []
    gold: list[GoldSpan] = []
    distractors: list[Distractor] = []
    at = 0
    cursor = 0
    for m in _SLOT.finditer(template):
        literal = template[cursor : m.start()]
        pieces.append(literal)
        at += len(literal)
        slot = m.group(1)
        value = filler.value(slot)
        if slot in _GOLD_SLOTS:
            gold.append(GoldSpan(kind=_GOLD_SLOTS[slot], start=at, end=at + len(value), value=value))
        elif slot in _DISTRACTOR_SLOTS:
            distractors.append(Distractor(kind=_DISTRACTOR_SLOTS[slot], start=at, end=at + len(value), value=value))
        pieces.append(value)
        at += len(value)
        cursor = m.end()
    pieces.append(template[cursor:])
    return "".join(pieces), gold, distractors


def generate(seed: int, n: int, *, languages: tuple[str, ...] = ("de", "en"), holdout: bool = False) -> list[Sample]:
    """`n` samples, the same for the same seed and Faker version; languages alternate. `holdout` fills the
    held-out templates (never tuned on) instead of the main ones."""
    templates = _HOLDOUT if holdout else _TEMPLATES
    prefix = "holdout-" if holdout else ""
    rng = random.Random(seed)
    fakers: dict[str, Faker] = {}
    for i, locale in enumerate(loc for lang in languages for loc in LOCALES[lang]):
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed * 31 + i)
    samples: list[Sample] = []
    for i in range(n):
        language = languages[i % len(languages)]
        locale = rng.choice(LOCALES[language])
        index = rng.randrange(len(templates[language]))
        text, gold, distractors = _render(templates[language][index], _Filler(language, locale, fakers[locale], rng))
        samples.append(
            Sample(
                text=text,
                language=language,
                locale=locale,
                template_id=f"{prefix}{language}-{index:02d}",
                gold=tuple(gold),
                distractors=tuple(distractors),
            )
        )
    return samples
