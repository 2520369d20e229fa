"""B4: hostile YAML gives a clean PolicyError quickly: no crash, no hang, no constructed objects."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies import DEFAULT_LIMITS, PolicyError, load_policy

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
default: auto_reply
"""


def refused_quickly(text: str) -> PolicyError:
    started = time.perf_counter()
    with pytest.raises(PolicyError) as err:
        load_policy(text, source="evil.yaml")
    assert time.perf_counter() - started < 2.0  # generous: CI machines are shared; ~ms locally
    return err.value


def test_billion_laughs_is_refused_at_the_first_anchor() -> None:
    err = refused_quickly(BILLION_LAUGHS)
    assert str(err).startswith("evil.yaml:1:4: a: anchor '&a' is not allowed")


def test_alias_in_a_rule_is_refused() -> None:
    text = "rules:\n  - id: a\n    when: *cond\n    then: handoff\ndefault: auto_reply\n"
    err = refused_quickly(text)
    assert err.problems[0].line == 3
    assert "alias '*cond'" in err.problems[0].message


@pytest.mark.parametrize("depth", [100, 10_000, 60_000])
def test_deep_flow_nesting(depth: int) -> None:
    err = refused_quickly("default: " + "[" * depth + "]" * depth + "\n")
    assert "nested deeper than" in str(err)


def test_deep_block_nesting() -> None:
    text = "".join("  " * level + f"k{level}:\n" for level in range(60)) + "  " * 60 + "x\n"
    err = refused_quickly(text)
    assert "nested deeper than" in str(err)


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "!!python/object:builtins.dict {}",
        "!!python/name:os.system",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!!omap [a: 1]",
        "!local thing",
        "!<tag:example.com,2000:app/foo> bar",
    ],
)
def test_custom_tags_are_refused(tagged: str) -> None:
    err = refused_quickly(f"name: {tagged}\ndefault: auto_reply\n")
    assert err.problems[0].line == 1
    assert "is not allowed" in err.problems[0].message


def test_python_tag_is_never_executed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "pwned"
    refused_quickly(f"name: !!python/object/apply:os.system ['touch {marker}']\ndefault: auto_reply\n")
    assert not marker.exists()


def test_duplicate_keys_are_refused() -> None:
    err = refused_quickly("default: auto_reply\nname: a\ndefault: handoff\n")
    assert str(err) == ("evil.yaml:3:1: default: duplicate key 'default' (first on line 1); keep one of them")


def test_oversized_document_is_refused_before_parsing() -> None:
    err = refused_quickly("#" * (DEFAULT_LIMITS.max_bytes + 1))
    assert "larger than" in str(err)


def test_too_many_nodes() -> None:
    text = "name: [" + ", ".join("x" for _ in range(DEFAULT_LIMITS.max_nodes + 10)) + "]\n"
    err = refused_quickly(text)
    assert "more than" in str(err) and "YAML nodes" in str(err)


def test_multiple_documents_are_refused() -> None:
    err = refused_quickly("default: auto_reply\n---\ndefault: handoff\n")
    assert "more than one YAML document" in str(err)


@pytest.mark.parametrize(
    "text",
    [
        "default: [",
        "default: 'unterminated\n",
        "\tdefault: x",
        "a: b: c",
        "- - -\n  x: y:",
        "default: \x00",
        "{{{{",
        "default: auto_reply\n  bad: indent\n",
        "? [a]\n: b\n",
        "rules:\n  - {id: a, when: {fact: anger, op: gte, value: .nan}, then: handoff}\ndefault: auto_reply\n",
        "default: 2024-01-01\n",
        "~",
        "[]",
        "42",
    ],
)
def test_malformed_yaml_gives_a_policy_error(text: str) -> None:
    err = refused_quickly(text)
    assert all(p.line >= 1 and p.column >= 1 for p in err.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!?|>'\"#%@`, \n\t.0123456789~")), max_size=200))
def test_random_yaml_noise_never_crashes(text: str) -> None:
    try:
        load_policy(text)
    except PolicyError as err:
        assert err.problems


def test_problem_paths_inside_nested_containers() -> None:
    text = "rules:\n  - id: a\n    then: handoff\n  - id: b\n    then: !!python/none x\ndefault: auto_reply\n"
    err = refused_quickly(text)
    assert err.problems[0].path == "rules[1].then"
    assert (err.problems[0].line, err.problems[0].column) == (5, 11)


KEYWORDS = [
    "name",
    "rules",
    "default",
    "id",
    "when",
    "then",
    "all",
    "any",
    "fact",
    "op",
    "value",
    "route",
    "queue",
    "priority",
    "sla_minutes",
    "summary",
    "anger",
    "intent",
    "tags",
    "attempts",
    "amount",
    "channel",
    "gte",
    "in",
    "is_true",
    "contains",
    "handoff",
    "auto_reply",
    "gender",
    "x",
]
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 50_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(KEYWORDS),
    st.text(max_size=5),
)
trees = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYWORDS), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYWORDS), trees, max_size=4))
def test_random_structures_load_or_fail_cleanly(document: dict[str, object]) -> None:
    import yaml

    text = yaml.safe_dump(document, sort_keys=False)
    try:
        load_policy(text)
    except PolicyError as err:
        assert all(p.line >= 1 and p.column >= 1 and p.message for p in err.problems)
