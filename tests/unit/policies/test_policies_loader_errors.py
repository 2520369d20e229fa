"""Every kind of policy error names the file, line, column, path and a fix."""

from __future__ import annotations

import textwrap

import pytest

from policies import PolicyError, Problem, load_policy, validate


def problems(text: str) -> list[Problem]:
    found = validate(textwrap.dedent(text), source="policy.yaml")
    assert found, "expected the policy to be refused"
    return found


def only(text: str) -> Problem:
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_valid_minimal_policy_loads() -> None:
    policy = load_policy("default: draft_for_approval\n")
    assert policy.rules == ()
    assert policy.default.route == "draft_for_approval"
    assert policy.version == "unversioned"


def test_store_version_wins_over_document_version() -> None:
    text = "version: '3'\ndefault: auto_reply\n"
    assert load_policy(text).version == "3"
    assert load_policy(text, version="v7").version == "v7"


def test_unknown_operator_reports_line_column_path_and_allowed_ops() -> None:
    problem = only("""\
        rules:
          - id: vip
            when:
              fact: customer_tier
              op: equals
              value: vip
            then: auto_reply
        default: draft_for_approval
        """)
    assert (problem.line, problem.column) == (5, 11)
    assert problem.path == "rules[0].when.op"
    assert str(problem) == (
        "policy.yaml:5:11: rules[0].when.op: unknown operator 'equals'; "
        "use one of: eq, ne, in, not_in (did you mean 'eq'?)"
    )


def test_operator_not_applicable_to_fact() -> None:
    problem = only("""\
        rules:
          - id: a
            when: {fact: anger, op: eq, value: 0.5}
            then: auto_reply
        default: auto_reply
        """)
    assert (problem.line, problem.column) == (3, 29)
    assert "does not apply to 'anger'" in problem.message
    assert problem.hint == "use one of: lt, lte, gt, gte"


def test_unknown_field_suggests_the_right_one() -> None:
    problem = only("""\
        rules:
          - id: a
            condition: {fact: anger, op: gte, value: 0.5}
            then: auto_reply
        default: auto_reply
        """)
    assert (problem.line, problem.column, problem.path) == (3, 5, "rules[0].condition")
    assert problem.message == "unknown field 'condition'"
    assert problem.hint.startswith("did you mean 'when'?")


def test_unknown_field_typo_close_match() -> None:
    problem = only("""\
        rules:
          - id: a
            when: {fact: anger, opp: gte, value: 0.5}
            then: auto_reply
        default: auto_reply
        """)
    assert (problem.line, problem.column) == (3, 25)
    assert "did you mean 'op'?" in problem.hint


def test_unknown_top_level_field_and_guards_hint() -> None:
    problem = only("guards: {refund_limit: 1000000}\ndefault: auto_reply\n")
    assert (problem.line, problem.column) == (1, 1)
    assert "cannot be configured" in problem.hint


def test_unknown_fact_lists_known_facts() -> None:
    problem = only("""\
        rules:
          - id: a
            when: {fact: angr, op: gte, value: 0.5}
            then: auto_reply
        default: auto_reply
        """)
    assert (problem.line, problem.column, problem.path) == (3, 18, "rules[0].when.fact")
    assert "did you mean 'anger'?" in problem.hint


@pytest.mark.parametrize(
    ("condition", "column", "needle"),
    [
        ("{fact: anger, op: gte, value: high}", 41, "must be a number between 0 and 1"),
        ("{fact: anger, op: gte, value: 1.5}", 41, "outside 0..1"),
        ("{fact: attempts, op: gte, value: 1.5}", 44, "whole number"),
        ("{fact: attempts, op: gte, value: true}", 44, "must be a whole number"),
        ("{fact: out_of_scope, op: eq, value: 'yes'}", 47, "must be true or false"),
        ("{fact: channel, op: eq, value: fax}", 42, "'fax' is not a valid channel"),
        ("{fact: intent, op: eq, value: 42}", 41, "must be text"),
        ("{fact: intent, op: in, value: order_status}", 41, "needs a non-empty list"),
        ("{fact: intent, op: in, value: [a, 3]}", 45, "must be text"),
        ("{fact: amount, op: gt, value: -5}", 41, "negative"),
        ("{fact: asked_for_human, op: is_true, value: true}", 48, "takes no value"),
    ],
)
def test_value_type_must_match_the_fact(condition: str, column: int, needle: str) -> None:
    problem = only(f"rules:\n  - id: a\n    when: {condition}\n    then: handoff\ndefault: auto_reply\n")
    assert problem.line == 3
    assert problem.column == column, str(problem)
    assert needle in problem.message, str(problem)


def test_missing_value_points_at_the_condition() -> None:
    problem = only("rules:\n  - id: a\n    when: {fact: anger, op: gte}\n    then: handoff\ndefault: auto_reply\n")
    assert (problem.line, problem.column, problem.path) == (3, 11, "rules[0].when.value")
    assert "needs a 'value'" in problem.message


def test_norway_problem_gets_a_quote_hint() -> None:
    problem = only(
        "rules:\n  - id: a\n    when: {fact: language, op: eq, value: no}\n    then: auto_reply\ndefault: auto_reply\n"
    )
    assert problem.hint == "quote it: 'no'"


def test_wrong_type_for_rules_and_rule() -> None:
    problem = only("rules: {id: a}\ndefault: auto_reply\n")
    assert (problem.line, problem.column, problem.path) == (1, 8, "rules")
    assert "must be a list" in problem.message
    problem = only("rules:\n  - just text\ndefault: auto_reply\n")
    assert (problem.line, problem.column, problem.path) == (2, 5, "rules[0]")
    assert "must be a mapping" in problem.message


def test_missing_default_is_an_error() -> None:
    problem = only("name: x\nrules: []\n")
    assert problem.path == "default"
    assert "missing 'default'" in problem.message


def test_empty_document() -> None:
    with pytest.raises(PolicyError) as err:
        load_policy("", source="empty.yaml")
    assert str(err.value).startswith("empty.yaml:1:1: the policy is empty")


def test_unknown_route_and_priority() -> None:
    found = problems("""\
        rules:
          - id: a
            then: {route: handof, queue: x, priority: asap}
          - id: b
            when: {fact: anger, op: gte, value: 0.2}
            then: reply
        default: auto_reply
        """)
    assert [(p.line, p.column, p.path) for p in found] == [
        (3, 19, "rules[0].then.route"),
        (6, 11, "rules[1].then"),
    ]
    assert "did you mean 'handoff'?" in found[0].hint
    assert "use one of: auto_reply, draft_for_approval, handoff, ask_clarification" in found[1].hint


def test_handoff_fields_on_other_routes_are_refused() -> None:
    problem = only("default: {route: auto_reply, queue: claims}\n")
    assert (problem.line, problem.column, problem.path) == (1, 30, "default.queue")


def test_bad_priority_and_sla() -> None:
    found = problems("default: {route: handoff, queue: q, priority: asap, sla_minutes: 0}\n")
    assert [(p.column, p.path) for p in found] == [(47, "default.priority"), (66, "default.sla_minutes")]


def test_duplicate_rule_id() -> None:
    problem = only("""\
        rules:
          - id: same
            when: {fact: anger, op: gte, value: 0.5}
            then: handoff
          - id: same
            when: {fact: anger, op: gte, value: 0.6}
            then: handoff
        default: auto_reply
        """)
    assert (problem.line, problem.column, problem.path) == (5, 9, "rules[1].id")
    assert problem.message == "duplicate rule id 'same' (also rules[0], line 2)"


def test_rule_after_unconditional_rule_is_unreachable() -> None:
    problem = only("""\
        rules:
          - id: everything
            then: draft_for_approval
          - id: late
            when: {fact: anger, op: gte, value: 0.5}
            then: handoff
        default: auto_reply
        """)
    assert (problem.line, problem.column, problem.path) == (4, 5, "rules[1]")
    assert "rule 'late' can never match" in problem.message
    assert "no 'when'" in problem.message


def test_rule_with_identical_condition_is_unreachable() -> None:
    problem = only("""\
        rules:
          - id: first
            when:
              all:
                - {fact: anger, op: gte, value: 0.5}
                - {fact: intent, op: in, value: [a, b]}
            then: handoff
          - id: second
            when:
              all:
                - {fact: intent, op: in, value: [b, a]}
                - {fact: anger, op: gte, value: 0.5}
            then: auto_reply
        default: auto_reply
        """)
    assert (problem.line, problem.column, problem.path) == (8, 5, "rules[1]")
    assert "same condition" in problem.message


def test_rule_a_guard_always_overrides_is_refused() -> None:
    problem = only("""\
        rules:
          - id: robo-claims
            when:
              all:
                - {fact: claim_decision, op: eq, value: true}
                - {fact: intent_confidence, op: gte, value: 0.9}
            then: auto_reply
        default: draft_for_approval
        """)
    assert (problem.line, problem.column, problem.path) == (7, 11, "rules[0].then")
    assert "guard:claim-decision" in problem.message


def test_empty_group_and_mixed_group() -> None:
    found = problems("""\
        rules:
          - id: a
            when: {all: []}
            then: handoff
          - id: b
            when: {any: [{fact: anger, op: gte, value: 0.1}], fact: anger}
            then: handoff
        default: auto_reply
        """)
    assert [(p.line, p.column, p.path) for p in found] == [
        (3, 17, "rules[0].when.all"),
        (6, 55, "rules[1].when.fact"),
    ]


def test_nested_path_in_groups() -> None:
    problem = only("""\
        rules:
          - id: a
            when:
              all:
                - {fact: anger, op: gte, value: 0.1}
                - any:
                    - {fact: intent, op: eq, value: x}
                    - {fact: urgency, op: gte, value: 7}
            then: handoff
        default: auto_reply
        """)
    assert problem.path == "rules[0].when.all[1].any[1].value"
    assert (problem.line, problem.column) == (8, 47)


def test_invalid_rule_id() -> None:
    problem = only("rules:\n  - id: Bad Id\n    then: handoff\ndefault: auto_reply\n")
    assert (problem.line, problem.column, problem.path) == (2, 9, "rules[0].id")


def test_all_problems_are_reported_in_document_order() -> None:
    found = problems("""\
        rules:
          - id: a
            when: {fact: anger, op: bigger, value: 0.1}
            then: handoff
          - id: b
            when: {fact: colour, op: eq, value: red}
            then: handoff
        default: nowhere
        """)
    assert [p.line for p in found] == [3, 6, 8]


def test_policy_error_str_has_one_line_per_problem() -> None:
    with pytest.raises(PolicyError) as err:
        load_policy("rules: 3\ndefault: nowhere\n", source="p.yaml")
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert all(line.startswith("p.yaml:") for line in lines)


def test_load_policy_file_reports_the_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.yaml"
    path.write_text("default: nowhere\n", encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        from policies import load_policy_file

        load_policy_file(path)
    assert str(err.value).startswith(f"{path}:1:10: default: unknown route 'nowhere'")


def test_load_policy_file_refuses_non_utf8(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from policies import load_policy_file

    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\ndefault: auto_reply\n")
    with pytest.raises(PolicyError, match="not valid UTF-8"):
        load_policy_file(path)
