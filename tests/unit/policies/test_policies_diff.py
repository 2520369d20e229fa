"""diff_policies (text) and compare_policies (which rule ids changed)."""

from __future__ import annotations

from policies import PolicyChanges, compare_policies, diff_policies, load_policy

OLD = """\
name: demo
rules:
  - id: a
    when: {fact: anger, op: gte, value: 0.7}
    then: handoff
  - id: b
    when: {fact: intent, op: eq, value: order_status}
    then: auto_reply
  - id: c
    when: {fact: intent, op: eq, value: complaint}
    then: draft_for_approval
default: draft_for_approval
"""

NEW = """\
name: demo
rules:
  - id: b
    when: {fact: intent, op: eq, value: order_status}
    then: auto_reply
  - id: a
    when: {fact: anger, op: gte, value: 0.6}
    then: handoff
  - id: d
    when: {fact: intent, op: eq, value: contract_change}
    then: draft_for_approval
default: ask_clarification
"""


def test_unified_diff() -> None:
    text = diff_policies(OLD, NEW, old_label="v1", new_label="v2")
    assert text.startswith("--- v1\n+++ v2\n")
    assert "-    when: {fact: anger, op: gte, value: 0.7}\n" in text
    assert "+    when: {fact: anger, op: gte, value: 0.6}\n" in text
    assert "+default: ask_clarification\n" in text


def test_identical_texts_have_an_empty_diff() -> None:
    assert diff_policies(OLD, OLD) == ""


def test_diff_without_trailing_newline_still_ends_lines() -> None:
    assert diff_policies("a: 1", "a: 2").endswith("+a: 2\n")


def test_structural_changes() -> None:
    changes = compare_policies(load_policy(OLD), load_policy(NEW))
    # a and b swapped places: the smallest explanation moves one of them.
    assert changes.moved in (("a",), ("b",))
    assert changes == PolicyChanges(
        added=("d",), removed=("c",), changed=("a",), moved=changes.moved, default_changed=True
    )
    assert str(changes) == (f"added: d; removed: c; changed: a; moved: {changes.moved[0]}; default changed")


def test_no_changes_ignores_version() -> None:
    changes = compare_policies(load_policy(OLD, version="1"), load_policy(OLD, version="2"))
    assert changes.empty
    assert str(changes) == "no changes"
