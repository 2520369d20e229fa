"""The package stays pure and its tables agree with its models."""

from __future__ import annotations

import subprocess
import sys

import policies
from policies import FACTS, FactKind, Facts, Operator
from policies.operators import OPERATORS_BY_KIND


def test_every_fact_field_has_a_spec() -> None:
    assert set(FACTS) == set(Facts.model_fields)


def test_every_kind_has_operators_and_every_operator_is_used() -> None:
    assert set(OPERATORS_BY_KIND) == set(FactKind)
    used = {op for ops in OPERATORS_BY_KIND.values() for op in ops}
    assert used == set(Operator)


def test_public_names_exist() -> None:
    for name in policies.__all__:
        assert hasattr(policies, name), name


def test_import_pulls_in_nothing_but_stdlib_pydantic_and_yaml() -> None:
    code = (
        "import sys, policies\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'conversation', 'prefect', 'sqlalchemy', 'redis', 'httpx', 'langchain', 'flows', "
        "'channels', 'knowledge', 'fastapi'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_enum_values_match_the_conversation_core_when_present() -> None:
    try:
        from conversation.enums import ChannelKind, Priority, Route
    except ImportError:  # pragma: no cover - the core is built alongside
        return
    assert [m.value for m in Route] == [m.value for m in policies.Route]
    assert [m.value for m in Priority] == [m.value for m in policies.Priority]
    assert [m.value for m in ChannelKind] == [m.value for m in policies.Channel]
    facts = Facts(intent="x", intent_confidence=0.5, channel=ChannelKind.SMS)
    assert facts.channel is policies.Channel.SMS
    assert Route(policies.Route.HANDOFF) is Route.HANDOFF
