"""Rules that use protected attributes are refused when the policy is validated."""

from __future__ import annotations

import pytest

from policies import protected_term, validate


@pytest.mark.parametrize(
    "fact",
    [
        "gender",
        "customer_age",
        "Nationality",
        "ethnicity",
        "religion",
        "health_status",
        "disability",
        "sexual_orientation",
        "date_of_birth",
        "country_of_origin",
    ],
)
def test_protected_fact_names_are_refused(fact: str) -> None:
    found = validate(
        f"rules:\n  - id: r\n    when: {{fact: {fact}, op: eq, value: x}}\n    then: handoff\ndefault: auto_reply\n",
        source="p.yaml",
    )
    assert len(found) == 1
    problem = found[0]
    assert (problem.line, problem.column, problem.path) == (3, 18, "rules[0].when.fact")
    assert "is a protected attribute" in problem.message
    assert "rules may not route on it" in problem.message


@pytest.mark.parametrize(
    "tag",
    [
        "gender:female",
        "age_group:over-60",
        "religion=muslim",
        "nationality:ch",
        "health:diabetic",
        "disabled",
        "pregnant",
    ],
)
def test_protected_tag_values_are_refused(tag: str) -> None:
    found = validate(
        "rules:\n  - id: r\n    when:\n      any:\n        - {fact: anger, op: gte, "
        f"value: 0.9}}\n        - {{fact: tags, op: contains, value: '{tag}'}}\n"
        "    then: handoff\ndefault: auto_reply\n",
        source="p.yaml",
    )
    assert [(p.line, p.path) for p in found] == [(6, "rules[0].when.any[1].value")]
    assert "protected attribute" in found[0].message


@pytest.mark.parametrize("text", ["usage", "message", "vip-account", "order:late", "language", "stage:final", "page"])
def test_ordinary_words_are_not_protected(text: str) -> None:
    assert protected_term(text) is None
