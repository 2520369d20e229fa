"""The closed set of comparison operators, which facts each one applies to, and how it compares."""

from __future__ import annotations

import enum
from collections.abc import Collection

from policies.facts import FactKind

__all__ = ["Operator", "OPERATORS_BY_KIND", "NO_VALUE_OPERATORS", "LIST_OPERATORS", "compare"]


@enum.unique
class Operator(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    IS_TRUE = "is_true"
    IS_FALSE = "is_false"

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]


_SYMBOLS = {
    Operator.EQ: "==",
    Operator.NE: "!=",
    Operator.LT: "<",
    Operator.LTE: "<=",
    Operator.GT: ">",
    Operator.GTE: ">=",
    Operator.IN: "in",
    Operator.NOT_IN: "not in",
    Operator.CONTAINS: "contain",
    Operator.NOT_CONTAINS: "do not contain",
    Operator.IS_TRUE: "is true",
    Operator.IS_FALSE: "is false",
}

_ORDERING = (Operator.LT, Operator.LTE, Operator.GT, Operator.GTE)
_MEMBERSHIP = (Operator.IN, Operator.NOT_IN)

OPERATORS_BY_KIND: dict[FactKind, tuple[Operator, ...]] = {
    FactKind.TEXT: (Operator.EQ, Operator.NE, *_MEMBERSHIP),
    FactKind.CHOICE: (Operator.EQ, Operator.NE, *_MEMBERSHIP),
    FactKind.SCORE: _ORDERING,
    FactKind.AMOUNT: _ORDERING,
    FactKind.COUNT: (Operator.EQ, Operator.NE, *_ORDERING, *_MEMBERSHIP),
    FactKind.FLAG: (Operator.IS_TRUE, Operator.IS_FALSE, Operator.EQ, Operator.NE),
    FactKind.TAGS: (Operator.CONTAINS, Operator.NOT_CONTAINS),
}

NO_VALUE_OPERATORS = frozenset({Operator.IS_TRUE, Operator.IS_FALSE})
LIST_OPERATORS = frozenset(_MEMBERSHIP)


def compare(op: Operator, actual: object, *, expected: object) -> bool:
    """Apply ``op``. A missing fact (``None``) never matches, whatever the operator."""
    if actual is None:
        return False
    match op:
        case Operator.EQ:
            return actual == expected
        case Operator.NE:
            return actual != expected
        case Operator.LT:
            left, right = _numbers(op, actual, expected)
            return left < right
        case Operator.LTE:
            left, right = _numbers(op, actual, expected)
            return left <= right
        case Operator.GT:
            left, right = _numbers(op, actual, expected)
            return left > right
        case Operator.GTE:
            left, right = _numbers(op, actual, expected)
            return left >= right
        case Operator.IN:
            return actual in _as_collection(expected)
        case Operator.NOT_IN:
            return actual not in _as_collection(expected)
        case Operator.CONTAINS:
            return expected in _as_collection(actual)
        case Operator.NOT_CONTAINS:
            return expected not in _as_collection(actual)
        case Operator.IS_TRUE:
            return actual is True
        case Operator.IS_FALSE:
            return actual is False
    raise AssertionError(f"unhandled operator {op!r}")  # pragma: no cover


def _numbers(op: Operator, actual: object, expected: object) -> tuple[float, float]:
    """Ordering applies to score, amount and count facts only; the loader refuses anything else."""
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual, expected
    raise TypeError(f"'{op}' compares numbers, got {type(actual).__name__} and {type(expected).__name__}")


def _as_collection(value: object) -> Collection[object]:
    if isinstance(value, (tuple, frozenset, set, list)):
        return value
    raise TypeError(f"expected a list of values, got {type(value).__name__}")
