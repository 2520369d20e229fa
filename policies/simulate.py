"""Dry run: replay past turns through a candidate policy and count how routes would change."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from policies.evaluate import evaluate
from policies.facts import Facts
from policies.guards import DEFAULT_GUARDS, GuardConfig
from policies.model import Policy, Route

__all__ = ["SimulationExample", "Transition", "SimulationReport", "simulate"]

_Frozen = ConfigDict(frozen=True)


class SimulationExample(BaseModel):
    model_config = _Frozen

    turn_id: str
    rule_id: str
    reason: str


class Transition(BaseModel):
    """``count`` turns that went to ``from_route`` and would now go to ``to_route``."""

    model_config = _Frozen

    from_route: Route
    to_route: Route
    count: int
    examples: tuple[SimulationExample, ...] = ()

    @property
    def changed(self) -> bool:
        return self.from_route is not self.to_route


class SimulationReport(BaseModel):
    """JSON-serialisable (``model_dump(mode="json")``) summary of a dry run."""

    model_config = _Frozen

    policy_name: str
    policy_version: str
    total: int
    changed: int
    transitions: tuple[Transition, ...]
    rule_hits: dict[str, int]


def simulate(
    policy: Policy,
    history: Iterable[tuple[str, Facts, Route | str]],
    *,
    guards: GuardConfig = DEFAULT_GUARDS,
    max_examples: int = 5,
) -> SimulationReport:
    """Evaluate ``policy`` (guards included) on each ``(turn_id, facts, route_taken)``.

    Examples are kept only for turns whose route would change, at most ``max_examples`` per pair.
    """
    counts: dict[tuple[Route, Route], int] = {}
    examples: dict[tuple[Route, Route], list[SimulationExample]] = {}
    rule_hits: dict[str, int] = {}
    total = 0
    for position, (turn_id, facts, current) in enumerate(history):
        try:
            before = Route(current)
        except ValueError:
            raise ValueError(
                f"history item {position} ({turn_id!r}): unknown route {current!r}; use one of: " + ", ".join(Route)
            ) from None
        decision = evaluate(policy, facts, guards=guards)
        pair = (before, decision.route)
        total += 1
        counts[pair] = counts.get(pair, 0) + 1
        rule_hits[decision.rule_id] = rule_hits.get(decision.rule_id, 0) + 1
        kept = examples.setdefault(pair, [])
        if before is not decision.route and len(kept) < max_examples:
            kept.append(SimulationExample(turn_id=turn_id, rule_id=decision.rule_id, reason=decision.reason))
    transitions = tuple(
        Transition(from_route=a, to_route=b, count=n, examples=tuple(examples[(a, b)]))
        for (a, b), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    changed = sum(t.count for t in transitions if t.changed)
    return SimulationReport(
        policy_name=policy.name,
        policy_version=policy.version,
        total=total,
        changed=changed,
        transitions=transitions,
        rule_hits=dict(sorted(rule_hits.items())),
    )
