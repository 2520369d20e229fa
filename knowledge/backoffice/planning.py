"""Lookup planning: which back-office lookups a turn runs, from its intent and the references the
customer typed. Only for an identified customer, and only within that customer's own records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from conversation import Intent
from knowledge.backoffice.lookups import Lookups
from knowledge.drafting.composer import detect_risk

__all__ = ["LookupRequest", "PlannedLookup", "plan_lookups"]


@dataclass(frozen=True, slots=True)
class LookupRequest:
    """What the turn knows when it plans. ``description`` is the redacted text (a claim draft's)."""

    intent: Intent | None
    customer_id: str | None
    identity_verified: bool
    text: str
    description: str
    idempotency_key: str
    order_ref: str | None = None
    policy_ref: str | None = None
    claim_ref: str | None = None
    incident_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class PlannedLookup:
    tool: str
    reference: str | None
    call: Callable[[], Awaitable[object]]


def plan_lookups(request: LookupRequest, lookups: Lookups) -> list[PlannedLookup]:
    cid = request.customer_id
    if cid is None:
        return []
    intent = request.intent
    order, policy, claim = request.order_ref, request.policy_ref, request.claim_ref
    if not request.identity_verified:
        # An unverified identity may only file a claim draft that a person reviews.
        intake = _claim_intake(lookups, cid, request) if intent is Intent.CLAIM_REPORT else None
        return [intake] if intake is not None else []
    plans: list[PlannedLookup | None] = []
    if intent in (Intent.ORDER_STATUS, Intent.DELIVERY_PROBLEM):
        if order:
            plans.append(PlannedLookup("order_status", order, lambda: lookups.order_status(cid, order)))
        else:
            plans.append(PlannedLookup("order_status", None, lambda: lookups.list_orders(cid)))
    elif intent is Intent.RETURN_REQUEST and order:
        plans.append(PlannedLookup("return_eligibility", order, lambda: lookups.return_eligibility(cid, order)))
    elif intent is Intent.COVERAGE_QUESTION:
        if policy:
            plans.append(PlannedLookup("coverage", policy, lambda: lookups.coverage(cid, policy)))
        else:
            plans.append(PlannedLookup("contract", None, lambda: lookups.list_contracts(cid)))
    elif intent is Intent.CLAIM_STATUS and claim:
        plans.append(PlannedLookup("claim_status", claim, lambda: lookups.claim_status(cid, claim)))
    elif intent is Intent.CLAIM_REPORT:
        plans.append(_claim_intake(lookups, cid, request))
    elif intent is Intent.CONTRACT_CHANGE and policy:
        plans.append(PlannedLookup("contract", policy, lambda: lookups.contract(cid, policy)))
    return [p for p in plans if p is not None]


def _claim_intake(lookups: Lookups, cid: str, request: LookupRequest) -> PlannedLookup | None:
    policy = request.policy_ref
    if not policy:
        return None
    risk = detect_risk(request.text)
    if risk is None:
        return None  # the person in the claims queue asks what happened
    incident = request.incident_date or dt.date.today()
    return PlannedLookup(
        "claim_intake",
        policy,
        lambda: lookups.claim_intake(
            cid,
            policy,
            risk=risk,
            incident_date=incident,
            description=request.description[:2000],
            idempotency_key=request.idempotency_key,
        ),
    )
