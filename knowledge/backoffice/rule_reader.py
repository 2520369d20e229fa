"""Reading a :class:`ValueRule` (``map``, ``pattern``, ``date_format``, ``decimal_comma``) and checking
translated and constant values against the model field they fill, so a typo fails at load time."""

from __future__ import annotations

import datetime as dt
import enum
import re
import typing
from functools import cache
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from knowledge.backoffice.catalog import FieldKind, field_shapes
from knowledge.backoffice.mapping import ValueRule
from knowledge.backoffice.yamlnodes import NodeReader, Pairs, join

__all__ = ["RULE_KEYS", "allowed_values", "check_value", "read_rule"]

RULE_KEYS = ("map", "pattern", "date_format", "decimal_comma")
_PROBE = dt.date(2026, 11, 23)


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    if field_shapes(model)[name].kind is FieldKind.VALUES:
        return TypeAdapter(str)
    annotation: Any = model.model_fields[name].annotation
    return TypeAdapter(annotation)


def allowed_values(model: type[BaseModel], name: str) -> str:
    """For enum fields, the list of allowed values (for fix texts); empty otherwise."""
    annotation = model.model_fields[name].annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return ", ".join(str(m.value) for m in candidate)
    return ""


def check_value(
    reader: NodeReader, node: yaml.Node, path: str, *, model: type[BaseModel], name: str, value: str
) -> bool:
    """Whether ``value`` is valid for ``model.name``; a problem is recorded when not."""
    try:
        _adapter(model, name).validate_python(value)
    except ValidationError:
        allowed = allowed_values(model, name)
        fix = f"use one of: {allowed}" if allowed else f"write a valid {model.__name__}.{name} value"
        reader.problem(node, path, f"'{value}' is not a valid value for {model.__name__}.{name}", fix)
        return False
    return True


def read_rule(reader: NodeReader, pairs: Pairs, path: str, *, model: type[BaseModel], name: str) -> ValueRule:
    """The rule from the ``RULE_KEYS`` entries of ``pairs`` (other keys are the caller's)."""
    values: dict[str, str] | None = None
    pattern = date_format = None
    decimal_comma = False
    if "map" in pairs:
        where = join(path, "map")
        found = reader.pairs(pairs["map"][1], where, what="'map'", fix="write it as 'their value: our value' lines")
        values = {}
        for key, (_key, node) in (found or {}).items():
            text = reader.text(node, join(where, key), what=f"the translation of '{key}'", max_len=200)
            if text is not None and check_value(reader, node, join(where, key), model=model, name=name, value=text):
                values[key] = text
    if "pattern" in pairs:
        node = pairs["pattern"][1]
        pattern = reader.text(node, join(path, "pattern"), what="'pattern'", max_len=300)
        if pattern is not None:
            try:
                if re.compile(pattern).groups > 1:
                    reader.problem(
                        node,
                        join(path, "pattern"),
                        "'pattern' has more than one group",
                        "keep one (...) group around the part to read; use (?:...) for others",
                    )
            except re.error as exc:
                reader.problem(
                    node,
                    join(path, "pattern"),
                    f"'pattern' is not a regular expression: {exc.msg}",
                    "fix the expression",
                    offset=exc.pos or 0,
                )
                pattern = None
    if "date_format" in pairs:
        node = pairs["date_format"][1]
        date_format = reader.text(node, join(path, "date_format"), what="'date_format'", max_len=40)
        if date_format is not None and not _round_trips(date_format):
            reader.problem(
                node,
                join(path, "date_format"),
                f"'{date_format}' is not a full date format",
                "use strptime codes with day, month and year, e.g. '%d.%m.%Y' or '%Y-%m-%d'",
            )
            date_format = None
    if "decimal_comma" in pairs:
        decimal_comma = bool(
            reader.boolean(pairs["decimal_comma"][1], join(path, "decimal_comma"), what="'decimal_comma'")
        )
    return ValueRule(pattern=pattern, values=values, date_format=date_format, decimal_comma=decimal_comma)


def _round_trips(fmt: str) -> bool:
    try:
        return dt.datetime.strptime(_PROBE.strftime(fmt), fmt).date() == _PROBE
    except ValueError:
        return False
