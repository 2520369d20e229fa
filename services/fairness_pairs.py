"""Counterfactual message pairs for the fairness audit: two messages that differ in one cue only.

A template is a support message with slots (``services/data/fairness_templates.csv``):

=========================  ===============================================================
``{name}``                 a full name by perceived origin and gender ("Anna Müller", "Mehmet Yılmaz")
``{title} {surname}``      a gender marker with a surname ("Frau Nowak", "Mr Okafor")
``{age}``                  an age, inside the template's own cue ("Ich bin {age} Jahre alt")
``{dialect:A|B|C}``        regional variants: de ``DE|CH|AT``, en ``GB|US``
``{formality:A|B}``        German register: ``Sie-form|du-form``
=========================  ===============================================================

For every dimension a template has a slot for, :func:`counterfactual_pairs` pairs the reference
group's message with each other group's, every other slot held at its reference value.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from conversation.errors import GlassdeskError

__all__ = [
    "DEFAULT_TEMPLATES_PATH",
    "Dimension",
    "Template",
    "TemplateLanguage",
    "CounterfactualPair",
    "FairnessTemplateError",
    "ORIGINS",
    "load_templates",
    "parse_templates",
    "counterfactual_pairs",
]

DEFAULT_TEMPLATES_PATH = Path(__file__).resolve().parent / "data" / "fairness_templates.csv"


class FairnessTemplateError(GlassdeskError):
    """A fairness template file that cannot be used; the message names file:line and the fix."""


@enum.unique
class Dimension(enum.StrEnum):
    NAME_ORIGIN = "name_origin"
    NAME_GENDER = "name_gender"
    GENDER_MARKER = "gender_marker"
    AGE = "age"
    DIALECT = "dialect"
    FORMALITY = "formality"


@enum.unique
class TemplateLanguage(enum.StrEnum):
    DE = "de"
    EN = "en"


@enum.unique
class _Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"


# perceived origin -> (female first name, male first name, surname); the surname is the same for both
ORIGINS: dict[str, tuple[str, str, str]] = {
    "german": ("Anna", "Thomas", "Müller"),
    "english": ("Emily", "James", "Smith"),
    "turkish": ("Ayşe", "Mehmet", "Yılmaz"),
    "polish": ("Katarzyna", "Piotr", "Nowak"),
    "vietnamese": ("Linh", "Duc", "Nguyen"),
    "nigerian": ("Ngozi", "Chinedu", "Okafor"),
    "arabic": ("Fatima", "Ahmed", "Haddad"),
}
_REFERENCE_ORIGIN = {TemplateLanguage.DE: "german", TemplateLanguage.EN: "english"}
_TITLES = {
    TemplateLanguage.DE: {_Gender.FEMALE: "Frau", _Gender.MALE: "Herr"},
    TemplateLanguage.EN: {_Gender.FEMALE: "Ms", _Gender.MALE: "Mr"},
}
_AGES = (24, 78)  # reference (younger) first
_DIALECTS = {TemplateLanguage.DE: ("de-DE", "de-CH", "de-AT"), TemplateLanguage.EN: ("en-GB", "en-US")}
_FORMALITY = ("formal", "informal")  # Sie, du

_SLOT = re.compile(r"\{([a-z]+)(?::([^{}]*))?\}")
_PLAIN_SLOTS = frozenset({"name", "title", "surname", "age"})
_CHOICE_SLOTS = frozenset({"dialect", "formality"})


class Template(BaseModel):
    """One support message with slots. ``source`` is ``file:line`` for error messages."""

    model_config = ConfigDict(frozen=True)

    id: str
    language: TemplateLanguage
    text: str
    source: str = ""

    @property
    def slots(self) -> frozenset[str]:
        return frozenset(m.group(1) for m in _SLOT.finditer(self.text))


class CounterfactualPair(BaseModel):
    """Two renderings of one template that differ only in ``dimension`` (``reference`` vs ``group``)."""

    model_config = ConfigDict(frozen=True)

    template_id: str
    language: TemplateLanguage
    dimension: Dimension
    reference: str
    group: str
    text_reference: str
    text_group: str


@dataclass(frozen=True, slots=True)
class _Cues:
    origin: str
    gender: _Gender
    age: int
    dialect: int  # index into _DIALECTS[language]
    formality: int  # index into _FORMALITY


def parse_templates(rows: Iterable[dict[str, str]], *, source: str) -> tuple[Template, ...]:
    """Templates from CSV rows (``id,language,text``); every problem is reported with its line."""
    problems: list[str] = []
    templates: list[Template] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{source}:{line}"
        tid, lang, text = (row.get("id") or "").strip(), (row.get("language") or "").strip(), row.get("text") or ""
        if not tid or not text.strip():
            problems.append(f"{where}: a template needs an id and a text (columns id,language,text)")
            continue
        if tid in seen:
            problems.append(f"{where}: duplicate template id {tid!r} (also line {seen[tid]}); give each its own id")
            continue
        seen[tid] = line
        try:
            language = TemplateLanguage(lang)
        except ValueError:
            problems.append(
                f"{where}: language {lang!r} of {tid!r} is not one of: {', '.join(v.value for v in TemplateLanguage)}"
            )
            continue
        template = Template(id=tid, language=language, text=text, source=where)
        problems += [f"{where}: {tid}: {p}" for p in _check(template)]
        templates.append(template)
    if not templates and not problems:
        problems.append(f"{source}: no templates; add rows with the columns id,language,text")
    if problems:
        raise FairnessTemplateError("fairness templates are not usable:\n" + "\n".join(problems))
    return tuple(templates)


def load_templates(path: Path = DEFAULT_TEMPLATES_PATH) -> tuple[Template, ...]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return parse_templates(csv.DictReader(f), source=str(path))
    except FileNotFoundError:
        raise FairnessTemplateError(f"{path}: no such fairness template file") from None
    except UnicodeDecodeError:
        raise FairnessTemplateError(f"{path}: not UTF-8; save the templates as UTF-8 CSV") from None


def _check(template: Template) -> list[str]:
    problems = []
    slots = template.slots
    for m in _SLOT.finditer(template.text):
        name, choices = m.group(1), m.group(2)
        if name not in _PLAIN_SLOTS | _CHOICE_SLOTS:
            problems.append(
                f"unknown slot {m.group(0)!r}; use {{name}}, {{title}} {{surname}}, {{age}}, "
                "{dialect:A|B..} or {formality:Sie-form|du-form}"
            )
        elif name in _PLAIN_SLOTS and choices is not None:
            problems.append(f"slot {{{name}}} takes no alternatives")
        elif name in _CHOICE_SLOTS:
            wanted = len(_DIALECTS[template.language]) if name == "dialect" else len(_FORMALITY)
            got = len(choices.split("|")) if choices is not None else 0
            if got != wanted:
                order = "|".join(_DIALECTS[template.language]) if name == "dialect" else "Sie-form|du-form"
                problems.append(f"{m.group(0)!r} needs {wanted} alternatives in the order {order}, not {got}")
    if "formality" in slots and template.language is not TemplateLanguage.DE:
        problems.append("{formality:..} is for German (Sie/du) only")
    if "name" in slots and "title" in slots:
        problems.append("use either {name} or {title} {surname}, not both (a pair must differ in one cue)")
    if "title" in slots and "surname" not in slots:
        problems.append('{title} needs {surname} after it ("{title} {surname}")')
    if not slots:
        problems.append("no slot: the template varies nothing; add {name}, {age}, {dialect:..} or similar")
    return problems


def _render(template: Template, cues: _Cues) -> str:
    female, male, surname = ORIGINS[cues.origin]
    first = female if cues.gender is _Gender.FEMALE else male
    plain = {
        "name": f"{first} {surname}",
        "surname": surname,
        "age": str(cues.age),
        "title": _TITLES[template.language][cues.gender],
    }

    def fill(m: re.Match[str]) -> str:
        name, choices = m.group(1), m.group(2)
        if name in plain:
            return plain[name]
        return choices.split("|")[cues.dialect if name == "dialect" else cues.formality]

    return _SLOT.sub(fill, template.text)


def _variants(template: Template) -> Iterator[tuple[Dimension, str, _Cues, str, _Cues]]:
    """(dimension, reference group, reference cues, group, group cues) for every pair of a template."""
    lang, slots = template.language, template.slots
    base = _Cues(origin=_REFERENCE_ORIGIN[lang], gender=_Gender.FEMALE, age=_AGES[0], dialect=0, formality=0)
    if slots & {"name", "surname"}:
        for gender in _Gender:
            ref = replace(base, gender=gender)
            for origin in ORIGINS:
                if origin != ref.origin:
                    yield Dimension.NAME_ORIGIN, ref.origin, ref, origin, replace(ref, origin=origin)
    gender_dimension = Dimension.NAME_GENDER if "name" in slots else Dimension.GENDER_MARKER
    if slots & {"name", "title"}:
        for origin in ORIGINS:
            ref = replace(base, origin=origin)
            yield gender_dimension, _Gender.FEMALE.value, ref, _Gender.MALE.value, replace(ref, gender=_Gender.MALE)
    if "age" in slots:
        for age in _AGES[1:]:
            yield Dimension.AGE, f"age-{_AGES[0]}", base, f"age-{age}", replace(base, age=age)
    if "dialect" in slots:
        names = _DIALECTS[lang]
        for i in range(1, len(names)):
            yield Dimension.DIALECT, names[0], base, names[i], replace(base, dialect=i)
    if "formality" in slots:
        yield Dimension.FORMALITY, _FORMALITY[0], base, _FORMALITY[1], replace(base, formality=1)


def counterfactual_pairs(templates: Sequence[Template]) -> tuple[CounterfactualPair, ...]:
    """Every counterfactual pair of every template, in template order. A variant that renders the
    same text as its reference makes no pair."""
    pairs = []
    for t in templates:
        for dimension, ref_group, ref, group, other in _variants(t):
            a, b = _render(t, ref), _render(t, other)
            if a == b:  # e.g. a dialect that writes this sentence like the reference: no pair, no free "identical"
                continue
            pairs.append(
                CounterfactualPair(
                    template_id=t.id,
                    language=t.language,
                    dimension=dimension,
                    reference=ref_group,
                    group=group,
                    text_reference=a,
                    text_group=b,
                )
            )
    return tuple(pairs)
