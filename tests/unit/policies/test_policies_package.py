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


def test_import_pulls_in_nothing_but_stdlib_pydantic_yaml_and_the_pure_core() -> None:
    code = (
        "import sys, policies\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'prefect', 'sqlalchemy', 'redis', 'httpx', 'langchain', 'flows', "
        "'channels', 'knowledge', 'fastapi'} or m.startswith(('conversation.sql', 'conversation.rediskit')))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_policies_use_the_core_enums_not_copies() -> None:
    from conversation.enums import ChannelKind, Priority, Route

    assert policies.Route is Route and policies.Priority is Priority and policies.Channel is ChannelKind
    facts = Facts(intent="x", intent_confidence=0.5, channel=ChannelKind.SMS)
    assert facts.channel is ChannelKind.SMS
