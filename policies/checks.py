"""Checks across rules: duplicate ids, unreachable rules, rules a guard would always override."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from policies.errors import Problem
from policies.guards import GUARDED_FLAGS
from policies.model import Condition, GroupMode, Rule, When
from policies.operators import Operator
from policies.yamlsafe import mark_of

__all__ = ["RuleSite", "check_rules", "canonical"]


@dataclass(frozen=True)
class RuleSite:
    """Where a rule sits in the document, for error marks."""

    node: yaml.Node
    id_node: yaml.Node
    then_node: yaml.Node
    path: str


def canonical(when: When | None) -> object:
    """A hashable form of a condition; equal for conditions that only differ in order or nesting."""
    if when is None:
        return None
    if isinstance(when, Condition):
        value: object = when.value
        if isinstance(value, tuple) and when.op in (Operator.IN, Operator.NOT_IN):
            value = frozenset(value)
        return ("cond", when.fact, str(when.op), value)
    items = frozenset(canonical(item) for item in when.items)
    if len(items) == 1:
        return next(iter(items))
    return (str(when.mode), items)


def _required_flags(when: When | None) -> set[str]:
    """Flag facts that must be true for ``when`` to match (top-level conjuncts only)."""
    if when is None:
        return set()
    if isinstance(when, Condition):
        if (
            when.op is Operator.IS_TRUE
            or (when.op is Operator.EQ and when.value is True)
            or (when.op is Operator.NE and when.value is False)
        ):
            return {when.fact}
        return set()
    if when.mode is GroupMode.ALL or len(when.items) == 1:
        found: set[str] = set()
        for item in when.items:
            found |= _required_flags(item)
        return found
    return set()


def check_rules(rules: list[Rule], sites: list[RuleSite], *, source: str) -> list[Problem]:
    problems: list[Problem] = []

    def add(node: yaml.Node, path: str, message: str, hint: str) -> None:
        line, column = mark_of(node)
        problems.append(Problem(source=source, line=line, column=column, path=path, message=message, hint=hint))

    first_by_id: dict[str, int] = {}
    first_by_condition: dict[object, int] = {}
    catch_all: int | None = None
    for index, (rule, site) in enumerate(zip(rules, sites, strict=True)):
        id_path = f"{site.path}.id"
        if rule.id in first_by_id:
            earlier = sites[first_by_id[rule.id]]
            add(
                site.id_node,
                id_path,
                f"duplicate rule id '{rule.id}' (also {earlier.path}, line {mark_of(earlier.id_node)[0]})",
                "give every rule its own id",
            )
        else:
            first_by_id[rule.id] = index
        key = canonical(rule.when)
        if catch_all is not None:
            other = rules[catch_all]
            add(
                site.node,
                site.path,
                f"rule '{rule.id}' can never match: rule '{other.id}' "
                f"({sites[catch_all].path}) above it has no 'when' and matches every turn",
                f"move '{rule.id}' above '{other.id}', or delete one of them",
            )
        elif key in first_by_condition:
            earlier_index = first_by_condition[key]
            other = rules[earlier_index]
            add(
                site.node,
                site.path,
                f"rule '{rule.id}' can never match: rule '{other.id}' "
                f"({sites[earlier_index].path}) above it has the same condition",
                "change the condition, or merge the two rules",
            )
        else:
            first_by_condition[key] = index
        if rule.when is None and catch_all is None:
            catch_all = index
        for fact in sorted(_required_flags(rule.when)):
            if fact not in GUARDED_FLAGS:
                continue
            guard, routes = GUARDED_FLAGS[fact]
            if rule.then.route not in routes:
                add(
                    site.then_node,
                    f"{site.path}.then",
                    f"rule '{rule.id}' routes {fact} turns to {rule.then.route}, which the "
                    f"built-in guard '{guard}' never allows",
                    "use route: " + " or ".join(sorted(routes)),
                )
    return problems
