"""Dry run: counts per from -> to route, a few examples per change, JSON-serialisable."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from policies import Facts, Route, load_policy, simulate

FactsFactory = Callable[..., Facts]

POLICY = load_policy(
    """\
name: candidate
rules:
  - id: angry
    when: {fact: anger, op: gte, value: 0.7}
    then: {route: handoff, queue: escalations, priority: high}
  - id: routine
    when: {fact: intent, op: eq, value: order_status}
    then: auto_reply
default: draft_for_approval
""",
    version="v3",
)


def test_counts_and_examples(facts: FactsFactory) -> None:
    history = [
        *[(f"calm-{i}", facts(), "auto_reply") for i in range(4)],
        *[(f"angry-{i}", facts(anger=0.9), "auto_reply") for i in range(7)],
        ("claim", facts(claim_decision=True), Route.DRAFT_FOR_APPROVAL),
        ("other", facts(intent="complaint"), "draft_for_approval"),
    ]
    report = simulate(POLICY, history, max_examples=3)
    assert (report.total, report.changed) == (13, 8)
    table = {(t.from_route, t.to_route): t for t in report.transitions}
    assert table[(Route.AUTO_REPLY, Route.HANDOFF)].count == 7
    assert [e.turn_id for e in table[(Route.AUTO_REPLY, Route.HANDOFF)].examples] == ["angry-0", "angry-1", "angry-2"]
    assert table[(Route.AUTO_REPLY, Route.AUTO_REPLY)].examples == ()
    claim = table[(Route.DRAFT_FOR_APPROVAL, Route.HANDOFF)]
    assert claim.examples[0].rule_id == "guard:claim-decision"
    assert report.rule_hits == {"angry": 7, "default": 1, "guard:claim-decision": 1, "routine": 4}
    assert report.transitions[0].count == 7


def test_report_is_json_serialisable(facts: FactsFactory) -> None:
    report = simulate(POLICY, [("t1", facts(anger=0.8), "auto_reply")])
    data = json.loads(json.dumps(report.model_dump(mode="json")))
    assert data["transitions"][0]["from_route"] == "auto_reply"
    assert data["policy_version"] == "v3"
    assert type(report).model_validate(data) == report


def test_empty_history() -> None:
    report = simulate(POLICY, [])
    assert (report.total, report.changed, report.transitions) == (0, 0, ())


def test_unknown_current_route_is_reported(facts: FactsFactory) -> None:
    with pytest.raises(ValueError, match=r"history item 1 \('b'\): unknown route 'bot'"):
        simulate(POLICY, [("a", facts(), "auto_reply"), ("b", facts(), "bot")])
