"""Why a conversation went to a person: a closed set, recorded on each conversation
(``conversation.sql.outcomes``) and counted on /ops.

The turn, the escalation path and the reconciler write free-text reasons on the HANDED_OFF timeline
event ("policy routes to a person", "drafting failed: …", "automation failed: …"); :func:`handoff_reason`
maps them, with the policy rule that fired when there is one, to a :class:`HandoffReason`."""

from __future__ import annotations

import enum

__all__ = ["HandoffReason", "handoff_reason", "REASON_LABELS"]


@enum.unique
class HandoffReason(enum.StrEnum):
    CUSTOMER_ASKED_FOR_PERSON = "customer_asked_for_person"
    CUSTOMER_UPSET = "customer_upset"  # anger or frustration detected
    HUMAN_DECISION_REQUIRED = "human_decision_required"  # claim decisions, refunds over the limit, legal effect
    OUT_OF_SCOPE = "out_of_scope"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    BACKOFFICE_UNAVAILABLE = "backoffice_unavailable"
    POLICY_ROUTE = "policy_route"  # any other policy rule that routes to a queue
    NO_SOURCE = "no_source"  # no knowledge article or lookup to answer from
    DRAFTING_FAILED = "drafting_failed"
    NOT_GROUNDED = "not_grounded"
    DELIVERY_FAILED = "delivery_failed"  # the channel refused or lost our reply
    AUTOMATION_FAILED = "automation_failed"  # the turn kept failing
    AGENT_TOOK_OVER = "agent_took_over"
    NOT_SOLVED = "not_solved"  # the customer answered the survey: not solved
    OTHER = "other"


REASON_LABELS: dict[HandoffReason, str] = {
    HandoffReason.CUSTOMER_ASKED_FOR_PERSON: "customer asked for a person",
    HandoffReason.CUSTOMER_UPSET: "customer upset",
    HandoffReason.HUMAN_DECISION_REQUIRED: "a person must decide",
    HandoffReason.OUT_OF_SCOPE: "out of scope",
    HandoffReason.UNSUPPORTED_LANGUAGE: "language not supported",
    HandoffReason.BACKOFFICE_UNAVAILABLE: "back office unavailable",
    HandoffReason.POLICY_ROUTE: "policy routes to a person",
    HandoffReason.NO_SOURCE: "no source to answer from",
    HandoffReason.DRAFTING_FAILED: "drafting failed",
    HandoffReason.NOT_GROUNDED: "draft not grounded",
    HandoffReason.DELIVERY_FAILED: "reply could not be delivered",
    HandoffReason.AUTOMATION_FAILED: "automation failed",
    HandoffReason.AGENT_TOOK_OVER: "an agent took over",
    HandoffReason.NOT_SOLVED: "customer said not solved",
    HandoffReason.OTHER: "other",
}

# policy rule ids (policies/default.yaml and policies/guards.py) that say more than "a policy routed it"
_RULES: dict[str, HandoffReason] = {
    "guard:human-requested": HandoffReason.CUSTOMER_ASKED_FOR_PERSON,
    "wants-human": HandoffReason.CUSTOMER_ASKED_FOR_PERSON,
    "angry-customers": HandoffReason.CUSTOMER_UPSET,
    "guard:claim-decision": HandoffReason.HUMAN_DECISION_REQUIRED,
    "claim-decision": HandoffReason.HUMAN_DECISION_REQUIRED,
    "guard:legal-effect": HandoffReason.HUMAN_DECISION_REQUIRED,
    "legal-effect": HandoffReason.HUMAN_DECISION_REQUIRED,
    "guard:refund-limit": HandoffReason.HUMAN_DECISION_REQUIRED,
    "guard:out-of-scope": HandoffReason.OUT_OF_SCOPE,
    "guard:unsupported-language": HandoffReason.UNSUPPORTED_LANGUAGE,
    "guard:backoffice-unavailable": HandoffReason.BACKOFFICE_UNAVAILABLE,
}

# free-text reasons as the code writes them today (prefix match, lower case), first match wins
_TEXTS: tuple[tuple[str, HandoffReason], ...] = (
    ("policy routes to a person", HandoffReason.POLICY_ROUTE),
    ("no source", HandoffReason.NO_SOURCE),
    ("drafting failed", HandoffReason.DRAFTING_FAILED),
    ("draft not grounded", HandoffReason.NOT_GROUNDED),
    ("automation failed", HandoffReason.AUTOMATION_FAILED),
    ("the channel refused", HandoffReason.DELIVERY_FAILED),
    ("a reply could not be delivered", HandoffReason.DELIVERY_FAILED),
    ("a reply may not have reached", HandoffReason.DELIVERY_FAILED),
    ("customer said not solved", HandoffReason.NOT_SOLVED),
    ("back office", HandoffReason.BACKOFFICE_UNAVAILABLE),
    ("backoffice", HandoffReason.BACKOFFICE_UNAVAILABLE),
)


_VALUES = frozenset(r.value for r in HandoffReason)
_FAILED = "automation failed"


def handoff_reason(text: str | None, *, rule_id: str | None = None) -> HandoffReason:
    """The closed reason for a free-text one. A code that is already a reason passes through; a policy
    handoff says which rule fired ("customer asked for a person", not just "policy")."""
    value = (text or "").strip().lower()
    if value in _VALUES:
        return HandoffReason(value)
    if value.startswith(_FAILED):  # the escalation path wraps the cause: "automation failed: the channel refused …"
        inner = handoff_reason(value[len(_FAILED) :].lstrip(": "), rule_id=None)
        return inner if inner is HandoffReason.DELIVERY_FAILED else HandoffReason.AUTOMATION_FAILED
    for prefix, reason in _TEXTS:
        if value.startswith(prefix):
            if reason is HandoffReason.POLICY_ROUTE and rule_id in _RULES:
                return _RULES[rule_id]
            return reason
    if rule_id in _RULES:
        return _RULES[rule_id]
    return HandoffReason.OTHER
