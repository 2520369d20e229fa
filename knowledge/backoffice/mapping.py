"""Declared field mappings, and turning an answer (JSON, or text read off a page) into model values.

Nothing is filled in that the answer does not say: a required field whose selector finds nothing makes
the whole answer unreadable (:class:`Unreadable`), never a default. Only nullable fields may be left out
of a mapping, and then they are ``None``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from knowledge.backoffice.catalog import field_shapes
from knowledge.backoffice.selector import MISSING, Selector

__all__ = ["Const", "Each", "FieldSpec", "Nested", "Pick", "Unreadable", "ValueRule", "build_record", "finish_record"]


class Unreadable(Exception):
    """The answer does not fit the mapping. ``where`` names the field (never a value)."""

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(f"field '{where}' is missing or invalid in the answer")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ValueRule(_Frozen):
    """How to read one value: ``pattern`` (regex; group 1 if it has one) is cut out first, then ``values``
    translates it (unlisted values pass through), then ``date_format`` (strptime) or ``decimal_comma``
    ("1.234,50" -> "1234.50") convert it."""

    pattern: str | None = None
    values: Mapping[str, str] | None = None
    date_format: str | None = None
    decimal_comma: bool = False

    def apply(self, raw: Any) -> Any:
        if raw is None:
            return None
        value: Any = raw
        if self.pattern is not None:
            match = _compiled(self.pattern).search(str(value))
            if match is None:
                raise ValueError("pattern does not match")
            value = match.group(1) if match.re.groups else match.group()
        if self.values is not None:
            key = str(value).lower() if isinstance(value, bool) else str(value).strip()
            value = self.values.get(key, value)
        if self.date_format is not None:
            value = dt.datetime.strptime(str(value).strip(), self.date_format).date()
        elif self.decimal_comma:
            value = str(value).replace(".", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
        elif isinstance(value, str):
            value = value.strip()
        return value


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class Pick(_Frozen):
    kind: Literal["pick"] = "pick"
    selector: Selector
    rule: ValueRule = ValueRule()


class Const(_Frozen):
    kind: Literal["const"] = "const"
    value: str


class Nested(_Frozen):
    kind: Literal["nested"] = "nested"
    at: Selector
    fields: dict[str, FieldSpec]


class Each(_Frozen):
    kind: Literal["each"] = "each"
    each: Selector
    fields: dict[str, FieldSpec] | None = None
    rule: ValueRule = ValueRule()


FieldSpec = Pick | Const | Nested | Each
Nested.model_rebuild()
Each.model_rebuild()


def _values(fields: Mapping[str, FieldSpec], node: Any, model: type[BaseModel], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, shape in field_shapes(model).items():
        where = f"{path}.{name}" if path else name
        spec = fields.get(name)
        if spec is None:
            out[name] = None
        elif isinstance(spec, Const):
            out[name] = spec.value
        elif isinstance(spec, Pick):
            value = spec.selector.one(node)
            if value is MISSING and not shape.nullable:
                raise Unreadable(where)
            try:
                value = None if value is MISSING else spec.rule.apply(value)
            except ValueError:
                raise Unreadable(where) from None
            if shape.text and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            out[name] = value
        elif isinstance(spec, Nested):
            inner = spec.at.one(node)
            if inner is MISSING or inner is None:
                if not shape.nullable:
                    raise Unreadable(where)
                out[name] = None
            elif shape.record is None or not isinstance(inner, dict):
                raise Unreadable(where)
            else:
                out[name] = _values(spec.fields, inner, shape.record, where)
        else:
            out[name] = _many(spec, node, shape.record, where)
    return out


def _many(spec: Each, node: Any, record: type[BaseModel] | None, where: str) -> list[Any]:
    elements = spec.each.many_values(node)
    if elements is None:
        raise Unreadable(where)
    if spec.fields is not None and record is not None:
        out = []
        for index, element in enumerate(elements):
            if not isinstance(element, dict):
                raise Unreadable(f"{where}[{index}]")
            out.append(_values(spec.fields, element, record, f"{where}[{index}]"))
        return out
    try:
        return [spec.rule.apply(e) for e in elements]
    except ValueError:
        raise Unreadable(where) from None


def build_record(
    model: type[BaseModel],
    fields: Mapping[str, FieldSpec],
    node: Any,
    *,
    source: tuple[str, str] | None,
) -> BaseModel:
    """``model`` built from ``node`` through ``fields``, or Unreadable (see :func:`finish_record`)."""
    return finish_record(model, _values(fields, node, model, ""), source=source)


def finish_record(model: type[BaseModel], values: dict[str, Any], *, source: tuple[str, str] | None) -> BaseModel:
    """Validate ``values`` as ``model``, or Unreadable naming the first bad field. ``source`` is
    ``(lookup, field)``: ``source_id`` becomes ``lookup:<lookup>:<value of field>``, as the SQL back office
    writes it."""
    if source is not None:
        key = values.get(source[1])
        if key is None:
            raise Unreadable(source[1])
        values = {**values, "source_id": f"lookup:{source[0]}:{key}"}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Unreadable(".".join(str(p) for p in first["loc"]) or model.__name__) from None
