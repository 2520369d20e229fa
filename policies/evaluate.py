"""``evaluate(policy, facts)``: first matching rule wins, then the built-in guards. Pure."""

from __future__ import annotations

from policies.facts import Facts
from policies.guards import DEFAULT_GUARDS, GuardConfig, guard_route
from policies.model import Condition, Decision, GroupMode, Policy, When
from policies.operators import NO_VALUE_OPERATORS, compare

__all__ = ["evaluate", "evaluate_rules", "explain"]


def evaluate(policy: Policy, facts: Facts, *, guards: GuardConfig = DEFAULT_GUARDS) -> Decision:
    """Route one turn: the policy's first matching rule (or its default), then the guards."""
    return guard_route(facts, evaluate_rules(policy, facts), guards=guards)


def evaluate_rules(policy: Policy, facts: Facts) -> Decision:
    """The policy's own decision, before guards. For dry runs and explanations only."""
    for rule in policy.rules:
        why = explain(rule.when, facts)
        if why is not None:
            reason = f"rule '{rule.id}': {why}"
            return Decision.from_action(rule.then, rule_id=rule.id, policy=policy, reason=reason)
    return Decision.from_action(
        policy.default, rule_id="default", policy=policy, reason="no rule matched; policy default"
    )


def explain(when: When | None, facts: Facts) -> str | None:
    """Why ``when`` matches ``facts`` (e.g. "anger 0.82 >= 0.7"), or None if it does not."""
    if when is None:
        return "matches every turn"
    if isinstance(when, Condition):
        actual = getattr(facts, when.fact)
        if not compare(when.op, actual, expected=when.value):
            return None
        return _describe(when, actual)
    reasons: list[str] = []
    for item in when.items:
        why = explain(item, facts)
        if when.mode is GroupMode.ANY and why is not None:
            return why
        if when.mode is GroupMode.ALL:
            if why is None:
                return None
            reasons.append(why)
    if when.mode is GroupMode.ANY:
        return None
    return " and ".join(reasons)


def _describe(condition: Condition, actual: object) -> str:
    op = condition.op
    if op in NO_VALUE_OPERATORS:
        return f"{condition.fact} {op.symbol}"
    if condition.fact == "tags":
        return f"tags {op.symbol} {_show(condition.value)}"
    return f"{condition.fact} {_show(actual)} {op.symbol} {_show(condition.value)}"


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (tuple, frozenset)):
        shown = [_show(v) for v in value]
        more = ", ..." if len(shown) > 4 else ""
        return "[" + ", ".join(shown[:4]) + more + "]"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)
