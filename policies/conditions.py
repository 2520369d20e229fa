"""Reading conditions: ``fact``/``op``/``value`` items and nested ``all``/``any`` groups."""

from __future__ import annotations

import difflib
from typing import Any

import yaml

from policies._read import Fields, NodeReader, join, kind_name, suggest
from policies.facts import FACTS, FactKind, FactSpec
from policies.model import Condition, Group, GroupMode, When
from policies.operators import LIST_OPERATORS, NO_VALUE_OPERATORS, OPERATORS_BY_KIND, Operator
from policies.protected import protected_term

__all__ = ["read_when", "MAX_GROUP_DEPTH", "MAX_LIST_VALUES"]

MAX_GROUP_DEPTH = 5
MAX_LIST_VALUES = 200
_CONDITION_FIELDS = ("fact", "op", "value")
_WHEN_FIELDS = (*_CONDITION_FIELDS, "all", "any")
_YAML_BOOL_WORDS = frozenset({"yes", "no", "on", "off", "y", "n", "true", "false"})
_OPERATOR_SYNONYMS = {
    "equals": "eq",
    "equal": "eq",
    "is": "eq",
    "==": "eq",
    "=": "eq",
    "!=": "ne",
    "not": "ne",
    "<": "lt",
    "<=": "lte",
    ">": "gt",
    ">=": "gte",
    "not in": "not_in",
    "notin": "not_in",
    "has": "contains",
    "includes": "contains",
    "true": "is_true",
    "false": "is_false",
}


def read_when(reader: NodeReader, node: yaml.Node, path: str, *, depth: int) -> When | None:
    """A single condition, or an `all`/`any` group of them; None (with problems) if invalid."""
    before = len(reader.problems)
    fields = reader.fields(node, path, _WHEN_FIELDS, what="a condition")
    if fields is None or len(reader.problems) > before:
        return None
    groups = [name for name in ("all", "any") if name in fields]
    if not groups:
        return _read_condition(reader, node, fields, path)
    if len(fields) > 1:
        extra = [name for name in fields if name != groups[0]]
        key = fields[extra[0]][0]
        reader.problem(
            key,
            join(path, extra[0]),
            f"'{groups[0]}' cannot be mixed with '{extra[0]}' in one condition",
            f"put each condition as an item of the '{groups[0]}' list",
        )
        return None
    mode = GroupMode(groups[0])
    key, items_node = fields[mode.value]
    group_path = join(path, mode.value)
    if depth >= MAX_GROUP_DEPTH:
        reader.problem(
            key,
            group_path,
            f"conditions nest deeper than {MAX_GROUP_DEPTH} levels",
            "split the rule into several rules",
        )
        return None
    if not isinstance(items_node, yaml.SequenceNode) or not items_node.value:
        reader.problem(
            items_node,
            group_path,
            f"'{mode}' needs a non-empty list of conditions",
            f"write '{mode}:' followed by '- fact: ...' items",
        )
        return None
    items: list[When] = []
    ok = True
    for index, item in enumerate(items_node.value):
        read = read_when(reader, item, f"{group_path}[{index}]", depth=depth + 1)
        if read is None:
            ok = False
        else:
            items.append(read)
    return Group(mode=mode, items=tuple(items)) if ok else None


def _read_condition(reader: NodeReader, node: yaml.Node, fields: Fields, path: str) -> Condition | None:
    missing = [name for name in ("fact", "op") if name not in fields]
    if missing:
        reader.problem(
            node,
            join(path, missing[0]),
            f"condition has no '{missing[0]}'",
            "write a condition as 'fact: anger, op: gte, value: 0.7', or group conditions under 'all:' or 'any:'",
        )
        return None
    fact_node = fields["fact"][1]
    fact = reader.text(fact_node, join(path, "fact"), what="'fact'")
    if fact is None:
        return None
    spec = FACTS.get(fact)
    if spec is None:
        attribute = protected_term(fact)
        if attribute is not None:
            reader.problem(
                fact_node,
                join(path, "fact"),
                f"fact '{fact}' is a protected attribute ({attribute}); rules may not route on it",
                "remove this condition; routing must not depend on "
                "gender, age, origin, religion, health, disability or orientation",
            )
        else:
            reader.problem(
                fact_node,
                join(path, "fact"),
                f"unknown fact '{fact}'",
                f"{suggest(fact, list(FACTS))}known facts: {', '.join(FACTS)}",
            )
        return None
    op_node = fields["op"][1]
    allowed = OPERATORS_BY_KIND[spec.kind]
    allowed_text = ", ".join(allowed)
    op_text = reader.text(op_node, join(path, "op"), what="'op'")
    if op_text is None:
        return None
    try:
        op = Operator(op_text)
    except ValueError:
        guess = _OPERATOR_SYNONYMS.get(op_text.lower().strip())
        if guess is None or guess not in allowed:
            close = difflib.get_close_matches(op_text, list(allowed), n=1, cutoff=0.6)
            guess = close[0] if close else None
        suffix = f" (did you mean '{guess}'?)" if guess else ""
        reader.problem(
            op_node, join(path, "op"), f"unknown operator '{op_text}'", f"use one of: {allowed_text}{suffix}"
        )
        return None
    if op not in allowed:
        reader.problem(
            op_node,
            join(path, "op"),
            f"operator '{op}' does not apply to '{fact}' ({spec.kind})",
            f"use one of: {allowed_text}",
        )
        return None
    value_path = join(path, "value")
    if op in NO_VALUE_OPERATORS:
        if "value" in fields:
            reader.problem(
                fields["value"][0],
                value_path,
                f"operator '{op}' takes no value",
                "remove 'value', or use op: eq with value: true or false",
            )
            return None
        return Condition(fact=fact, op=op)
    if "value" not in fields:
        reader.problem(
            node, value_path, f"operator '{op}' needs a 'value'", f"add 'value: ...' ({_expected(spec, op)})"
        )
        return None
    value_node = fields["value"][1]
    if op in LIST_OPERATORS:
        if not isinstance(value_node, yaml.SequenceNode) or not value_node.value:
            reader.problem(
                value_node, value_path, f"operator '{op}' needs a non-empty list", "write the values as [a, b, c]"
            )
            return None
        if len(value_node.value) > MAX_LIST_VALUES:
            reader.problem(value_node, value_path, f"more than {MAX_LIST_VALUES} values")
            return None
        values = [
            _read_value(reader, item, f"{value_path}[{i}]", fact, spec) for i, item in enumerate(value_node.value)
        ]
        if any(v is _INVALID for v in values):
            return None
        return Condition(fact=fact, op=op, value=tuple(values))
    value = _read_value(reader, value_node, value_path, fact, spec, op=op)
    if value is _INVALID:
        return None
    return Condition(fact=fact, op=op, value=value)


def _read_value(
    reader: NodeReader,
    node: yaml.Node,
    path: str,
    fact: str,
    spec: FactSpec,
    *,
    op: Operator | None = None,
) -> Any:
    expected = _expected(spec, op)
    if not isinstance(node, yaml.ScalarNode):
        reader.problem(
            node,
            path,
            f"value for '{fact}' must be {expected}, not {kind_name(node)}",
            "write a single value" if op not in LIST_OPERATORS else "",
        )
        return _INVALID
    value = reader.scalar(node)
    raw = str(node.value)
    quote_hint = f"quote it: '{raw}'" if not node.style else ""
    kind = spec.kind
    if kind in (FactKind.TEXT, FactKind.CHOICE, FactKind.TAGS):
        if not isinstance(value, str) or not value:
            hint = quote_hint if raw.lower() in _YAML_BOOL_WORDS or value is not None else ""
            reader.problem(
                node, path, f"value for '{fact}' must be {expected}, not {kind_name(node)}", hint or f"write {expected}"
            )
            return _INVALID
        if kind is FactKind.CHOICE and value not in spec.choices:
            reader.problem(
                node,
                path,
                f"'{value}' is not a valid {fact}",
                f"{suggest(value, spec.choices)}use one of: {', '.join(spec.choices)}",
            )
            return _INVALID
        if kind is FactKind.TAGS and (attribute := protected_term(value)) is not None:
            reader.problem(
                node,
                path,
                f"tag '{value}' names a protected attribute ({attribute}); rules may not route on it",
                "remove this condition; if the tag does not describe a person, rename it (e.g. 'source:web')",
            )
            return _INVALID
        return value
    if kind is FactKind.FLAG:
        if not isinstance(value, bool):
            reader.problem(
                node,
                path,
                f"value for '{fact}' must be true or false, not {kind_name(node)}",
                "write true or false without quotes",
            )
            return _INVALID
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        reader.problem(
            node,
            path,
            f"value for '{fact}' must be {expected}, not {kind_name(node)}",
            "write the number without quotes",
        )
        return _INVALID
    if kind is FactKind.COUNT:
        if not isinstance(value, int) or value < 0:
            reader.problem(
                node, path, f"value for '{fact}' must be a whole number >= 0", f"'{fact}' counts turns, e.g. value: 2"
            )
            return _INVALID
        return value
    if value != value or value in (float("inf"), float("-inf")):
        reader.problem(node, path, f"value for '{fact}' must be a finite number")
        return _INVALID
    if kind is FactKind.SCORE and not 0 <= value <= 1:
        reader.problem(
            node, path, f"value {raw} for '{fact}' is outside 0..1", f"'{fact}' is a score between 0 and 1, e.g. 0.7"
        )
        return _INVALID
    if kind is FactKind.AMOUNT and value < 0:
        reader.problem(node, path, f"value {raw} for '{fact}' is negative", "amounts are >= 0")
        return _INVALID
    return float(value)


# -- actions --------------------------------------------------------------------------------


_INVALID: Any = object()


def _expected(spec: FactSpec, op: Operator | None) -> str:
    match spec.kind:
        case FactKind.TEXT | FactKind.TAGS:
            return "text"
        case FactKind.CHOICE:
            return "one of " + ", ".join(spec.choices)
        case FactKind.SCORE:
            return "a number between 0 and 1"
        case FactKind.AMOUNT:
            return "a number >= 0"
        case FactKind.COUNT:
            return "a whole number >= 0"
        case FactKind.FLAG:
            return "true or false"
    return "a value"  # pragma: no cover
