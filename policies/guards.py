"""Built-in guards that no policy can override (GDPR Art. 22, revDSG Art. 21, "a human on request").

``evaluate`` applies them after the rules; the runtime calls :func:`guard_route` again before it
acts, as defence in depth. A guard only changes a decision that breaks it, and then reports itself
as the rule (``guard:claim-decision`` ...) with the overridden rule and route kept for the audit.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from policies.facts import Facts
from policies.model import DEFAULT_SLA_MINUTES, Decision, Priority, Route

__all__ = [
    "Guard",
    "GuardConfig",
    "DEFAULT_GUARDS",
    "GUARDED_FLAGS",
    "allowed_routes",
    "guard_route",
]


@enum.unique
class Guard(enum.StrEnum):
    CLAIM_DECISION = "guard:claim-decision"
    HUMAN_REQUESTED = "guard:human-requested"
    LEGAL_EFFECT = "guard:legal-effect"
    REFUND_LIMIT = "guard:refund-limit"
    OUT_OF_SCOPE = "guard:out-of-scope"
    UNSUPPORTED_LANGUAGE = "guard:unsupported-language"
    BACKOFFICE_UNAVAILABLE = "guard:backoffice-unavailable"


class GuardConfig(BaseModel):
    """Deployment settings for the guards. Not part of any policy document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    refund_limit: Annotated[float, Field(ge=0.0)] = 200.0
    claims_queue: str = "claims"
    human_queue: str = "general"
    max_clarifications: Annotated[int, Field(ge=0)] = 2
    # Languages automation answers in (knowledge articles and reply templates exist); any other
    # detected language goes to a person, never to a clarifying question or an automatic answer.
    supported_languages: frozenset[str] = frozenset({"de", "en"})


DEFAULT_GUARDS = GuardConfig()

_HUMAN = frozenset({Route.HANDOFF})
_HUMAN_APPROVES = frozenset({Route.HANDOFF, Route.DRAFT_FOR_APPROVAL})
_NOT_AUTOMATIC = frozenset({Route.HANDOFF, Route.DRAFT_FOR_APPROVAL, Route.ASK_CLARIFICATION})

# Flag facts whose truth a guard acts on, with the routes the guard allows. The loader uses this
# to refuse rules that could never take effect (e.g. claim_decision is_true -> auto_reply).
GUARDED_FLAGS: dict[str, tuple[Guard, frozenset[Route]]] = {
    "claim_decision": (Guard.CLAIM_DECISION, _HUMAN),
    "asked_for_human": (Guard.HUMAN_REQUESTED, _HUMAN),
    "legal_effect": (Guard.LEGAL_EFFECT, _HUMAN_APPROVES),
    "out_of_scope": (Guard.OUT_OF_SCOPE, _NOT_AUTOMATIC),
    "lookup_unavailable": (Guard.BACKOFFICE_UNAVAILABLE, _HUMAN),
}


def _applicable(facts: Facts, guards: GuardConfig) -> list[tuple[Guard, frozenset[Route]]]:
    found: list[tuple[Guard, frozenset[Route]]] = []
    if facts.claim_decision:
        found.append((Guard.CLAIM_DECISION, _HUMAN))
    if facts.asked_for_human:
        found.append((Guard.HUMAN_REQUESTED, _HUMAN))
    if facts.legal_effect:
        found.append((Guard.LEGAL_EFFECT, _HUMAN_APPROVES))
    if facts.amount is not None and facts.amount > guards.refund_limit:
        found.append((Guard.REFUND_LIMIT, _HUMAN_APPROVES))
    if facts.out_of_scope:
        found.append((Guard.OUT_OF_SCOPE, _NOT_AUTOMATIC))
    if facts.language.split("-")[0].lower() not in guards.supported_languages:
        found.append((Guard.UNSUPPORTED_LANGUAGE, _HUMAN))
    if facts.lookup_unavailable:
        found.append((Guard.BACKOFFICE_UNAVAILABLE, _HUMAN))
    return found


def allowed_routes(facts: Facts, *, guards: GuardConfig = DEFAULT_GUARDS) -> frozenset[Route]:
    """The routes the guards allow for ``facts``; every route when no guard applies."""
    allowed = frozenset(Route)
    for _, routes in _applicable(facts, guards):
        allowed &= routes
    return allowed


def guard_route(facts: Facts, decision: Decision, *, guards: GuardConfig = DEFAULT_GUARDS) -> Decision:
    """Return ``decision`` if every guard allows it, else the guarded replacement."""
    for guard, routes in _applicable(facts, guards):
        if decision.route in routes:
            continue
        decision = _override(guard, facts, decision, guards)
    return decision


def _override(guard: Guard, facts: Facts, decision: Decision, guards: GuardConfig) -> Decision:
    was = f"'{decision.rule_id}' chose {decision.route}"
    route: Route
    queue: str | None
    priority: Priority | None
    match guard:
        case Guard.CLAIM_DECISION:
            route, queue, priority = Route.HANDOFF, guards.claims_queue, Priority.HIGH
            why = "a claim decision is never taken by automation (GDPR Art. 22)"
        case Guard.HUMAN_REQUESTED:
            route, queue, priority = Route.HANDOFF, guards.human_queue, Priority.HIGH
            why = "the customer asked for a human"
        case Guard.LEGAL_EFFECT:
            route, queue, priority = Route.DRAFT_FOR_APPROVAL, None, None
            why = "a decision with legal effect needs a named human's approval (GDPR Art. 22)"
        case Guard.REFUND_LIMIT:
            route, queue, priority = Route.DRAFT_FOR_APPROVAL, None, None
            why = f"amount {facts.amount:g} is over the refund limit {guards.refund_limit:g}"
        case Guard.OUT_OF_SCOPE:
            if facts.attempts < guards.max_clarifications:
                route, queue, priority = Route.ASK_CLARIFICATION, None, None
            else:
                route, queue, priority = Route.HANDOFF, guards.human_queue, Priority.NORMAL
            why = "out-of-scope messages are never answered automatically"
        case Guard.UNSUPPORTED_LANGUAGE:
            route, queue, priority = Route.HANDOFF, guards.human_queue, Priority.NORMAL
            why = f"automation does not answer in '{facts.language}'; a person does"
        case Guard.BACKOFFICE_UNAVAILABLE:
            route, queue, priority = Route.HANDOFF, guards.human_queue, Priority.NORMAL
            why = "a back-office system this request needs could not be reached; a person answers with the facts"
    return decision.model_copy(
        update={
            "route": route,
            "queue": queue,
            "priority": priority,
            "sla_minutes": DEFAULT_SLA_MINUTES[priority] if priority is not None else None,
            "summary": route is not Route.ASK_CLARIFICATION,
            "rule_id": str(guard),
            "reason": f"{guard}: {why} ({was})",
            "overridden_rule_id": decision.overridden_rule_id or decision.rule_id,
            "overridden_route": decision.overridden_route or decision.route,
        }
    )
