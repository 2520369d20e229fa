"""evaluate(): each operator, first match wins, default, readable reasons with the rule id."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from policies import Decision, Facts, Priority, Route, evaluate, evaluate_rules, load_policy

FactsFactory = Callable[..., Facts]


def one_rule(condition: str, then: str = "handoff") -> str:
    return (
        f"name: t\nversion: '9'\nrules:\n  - id: r\n    when: {condition}\n    then: {then}\n"
        "default: draft_for_approval\n"
    )


def matches(condition: str, facts_obj: object) -> bool:
    decision = evaluate_rules(load_policy(one_rule(condition)), facts_obj)  # type: ignore[arg-type]
    return decision.rule_id == "r"


@pytest.mark.parametrize(
    ("condition", "overrides", "expected"),
    [
        ("{fact: intent, op: eq, value: order_status}", {}, True),
        ("{fact: intent, op: eq, value: complaint}", {}, False),
        ("{fact: intent, op: ne, value: complaint}", {}, True),
        ("{fact: intent, op: in, value: [a, order_status]}", {}, True),
        ("{fact: intent, op: not_in, value: [a, order_status]}", {}, False),
        ("{fact: channel, op: eq, value: sms}", {"channel": "sms"}, True),
        ("{fact: channel, op: in, value: [email, chat]}", {"channel": "sms"}, False),
        ("{fact: customer_tier, op: ne, value: vip}", {"customer_tier": "vip"}, False),
        ("{fact: sentiment, op: eq, value: negative}", {"sentiment": "negative"}, True),
        ("{fact: anger, op: gte, value: 0.7}", {"anger": 0.7}, True),
        ("{fact: anger, op: gt, value: 0.7}", {"anger": 0.7}, False),
        ("{fact: anger, op: lt, value: 0.7}", {"anger": 0.69}, True),
        ("{fact: anger, op: lte, value: 0.7}", {"anger": 0.71}, False),
        ("{fact: amount, op: gt, value: 100}", {"amount": 100.5}, True),
        ("{fact: amount, op: lte, value: 100}", {"amount": None}, False),
        ("{fact: amount, op: gt, value: 100}", {"amount": None}, False),
        ("{fact: attempts, op: eq, value: 2}", {"attempts": 2}, True),
        ("{fact: attempts, op: ne, value: 2}", {"attempts": 2}, False),
        ("{fact: attempts, op: in, value: [0, 1]}", {"attempts": 1}, True),
        ("{fact: attempts, op: not_in, value: [0, 1]}", {"attempts": 3}, True),
        ("{fact: attempts, op: gte, value: 2}", {"attempts": 1}, False),
        ("{fact: within_business_hours, op: is_true}", {}, True),
        ("{fact: within_business_hours, op: is_false}", {}, False),
        ("{fact: within_business_hours, op: eq, value: false}", {"within_business_hours": False}, True),
        ("{fact: within_business_hours, op: ne, value: false}", {"within_business_hours": False}, False),
        ("{fact: tags, op: contains, value: vip-account}", {"tags": {"vip-account"}}, True),
        ("{fact: tags, op: contains, value: vip-account}", {}, False),
        ("{fact: tags, op: not_contains, value: spam}", {"tags": {"x"}}, True),
        ("{fact: language, op: in, value: [de, fr, it]}", {"language": "de"}, True),
    ],
)
def test_operators(facts: FactsFactory, condition: str, overrides: dict[str, object], expected: bool) -> None:
    assert matches(condition, facts(**overrides)) is expected


def test_all_and_any_groups(facts: FactsFactory) -> None:
    condition = (
        "{all: [{fact: anger, op: gte, value: 0.5}, {any: [{fact: channel, op: eq, value: "
        "sms}, {fact: urgency, op: gte, value: 0.9}]}]}"
    )
    assert matches(condition, facts(anger=0.6, channel="sms"))
    assert matches(condition, facts(anger=0.6, urgency=0.95))
    assert not matches(condition, facts(anger=0.6))
    assert not matches(condition, facts(anger=0.4, channel="sms"))


def test_first_matching_rule_wins_and_decision_carries_everything(facts: FactsFactory) -> None:
    policy = load_policy(
        """\
name: demo
rules:
  - id: angry-customers
    when: {fact: anger, op: gte, value: 0.7}
    then: {route: handoff, queue: escalations, priority: urgent, summary: true}
  - id: any-anger
    when: {fact: anger, op: gte, value: 0.1}
    then: auto_reply
default: draft_for_approval
""",
        version="v12",
    )
    decision = evaluate(policy, facts(anger=0.82))
    assert decision == Decision(
        route=Route.HANDOFF,
        queue="escalations",
        priority=Priority.URGENT,
        sla_minutes=15,
        summary=True,
        rule_id="angry-customers",
        policy_name="demo",
        policy_version="v12",
        reason="rule 'angry-customers': anger 0.82 >= 0.7",
    )
    assert evaluate(policy, facts(anger=0.2)).rule_id == "any-anger"
    fallback = evaluate(policy, facts())
    assert (fallback.rule_id, fallback.route) == ("default", Route.DRAFT_FOR_APPROVAL)
    assert fallback.reason == "no rule matched; policy default"


def test_reason_lists_every_condition_of_an_all_group(facts: FactsFactory) -> None:
    policy = load_policy(
        one_rule(
            "{all: [{fact: intent, op: in, value: [order_status, x]}, {fact: channel, op: eq, "
            "value: sms}, {fact: asked_for_human, op: is_false}]}",
            then="auto_reply",
        )
    )
    decision = evaluate(policy, facts(channel="sms"))
    assert decision.reason == (
        "rule 'r': intent 'order_status' in ['order_status', 'x'] and "
        "channel 'sms' == 'sms' and asked_for_human is false"
    )


def test_unconditional_rule_matches_everything(facts: FactsFactory) -> None:
    policy = load_policy("rules:\n  - id: all\n    then: ask_clarification\ndefault: auto_reply\n")
    decision = evaluate(policy, facts())
    assert decision.rule_id == "all"
    assert decision.reason == "rule 'all': matches every turn"


def test_evaluate_is_pure(facts: FactsFactory) -> None:
    policy = load_policy(one_rule("{fact: anger, op: gte, value: 0.5}"))
    turn = facts(anger=0.9)
    assert evaluate(policy, turn) == evaluate(policy, turn)
    assert turn.anger == 0.9


def test_decision_and_policy_are_json_serialisable(facts: FactsFactory) -> None:
    policy = load_policy(one_rule("{fact: tags, op: contains, value: x}"))
    assert policy.model_validate_json(policy.model_dump_json()) == policy
    decision = evaluate(policy, facts(tags={"x"}))
    assert Decision.model_validate_json(decision.model_dump_json()) == decision
