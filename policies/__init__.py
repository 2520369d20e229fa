"""Glassdesk policy engine: typed YAML routing policies, pure evaluation, built-in guards.

Pure: imports only the standard library, pydantic and PyYAML. See ``policies/README.md``.
"""

from __future__ import annotations

from pathlib import Path

from policies.diff import PolicyChanges, compare_policies, diff_policies
from policies.errors import PolicyError, Problem
from policies.evaluate import evaluate, evaluate_rules, explain
from policies.facts import FACTS, Channel, CustomerTier, FactKind, Facts, Sentiment
from policies.guards import DEFAULT_GUARDS, Guard, GuardConfig, allowed_routes, guard_route
from policies.loader import load_policy, load_policy_file, validate
from policies.model import (
    Action,
    Condition,
    Decision,
    Group,
    GroupMode,
    Policy,
    PolicyVersion,
    Priority,
    Route,
    Rule,
)
from policies.operators import Operator
from policies.protected import protected_term
from policies.simulate import SimulationExample, SimulationReport, Transition, simulate
from policies.yamlsafe import DEFAULT_LIMITS, Limits

DEFAULT_POLICY_PATH = Path(__file__).with_name("default.yaml")

__all__ = [
    "Action",
    "Channel",
    "Condition",
    "CustomerTier",
    "DEFAULT_GUARDS",
    "DEFAULT_LIMITS",
    "DEFAULT_POLICY_PATH",
    "Decision",
    "FACTS",
    "FactKind",
    "Facts",
    "Group",
    "GroupMode",
    "Guard",
    "GuardConfig",
    "Limits",
    "Operator",
    "Policy",
    "PolicyChanges",
    "PolicyError",
    "PolicyVersion",
    "Priority",
    "Problem",
    "Route",
    "Rule",
    "Sentiment",
    "SimulationExample",
    "SimulationReport",
    "Transition",
    "allowed_routes",
    "compare_policies",
    "diff_policies",
    "evaluate",
    "evaluate_rules",
    "explain",
    "guard_route",
    "load_policy",
    "load_policy_file",
    "protected_term",
    "simulate",
    "validate",
]
