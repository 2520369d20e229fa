"""What the customer may read about a lookup on their status page: their own reference, its state, and
the next step where the record says one (carrier and expected date, documents still missing, a return
deadline). Nothing else of the record (items, amounts, addresses, tracking numbers) leaves it.

``customer_view`` makes the stored form (plain strings, kept on the LOOKED_UP timeline event);
``describe_checked`` words it in German or English."""

from __future__ import annotations

import datetime as dt
from typing import Any

from knowledge.article import Language
from knowledge.backoffice.models import ClaimDraft, ClaimStatus, Contract, Coverage, OrderStatus, ReturnEligibility
from knowledge.drafting.labels import fmt_date, label

__all__ = ["customer_view", "failed_view", "describe_checked"]

_KIND_OF_TOOL = {
    "order_status": "order",
    "return_eligibility": "return",
    "contract": "contract",
    "coverage": "coverage",
    "claim_status": "claim",
    "claim_intake": "claim",
}


def customer_view(result: object) -> dict[str, Any] | None:
    """The customer-visible facts of one lookup result, or None for a result of another kind."""
    if isinstance(result, OrderStatus):
        view: dict[str, Any] = {"kind": "order", "ref": result.order_number, "state": result.status.value}
        if result.shipment is not None:
            view |= {"carrier": result.shipment.carrier, "shipment": result.shipment.status.value}
            if result.status.value != "delivered":
                view["expected"] = result.shipment.eta.isoformat()
        return view
    if isinstance(result, ReturnEligibility):
        view = {"kind": "return", "ref": result.order_number, "state": result.decision.value}
        if result.eligible and result.return_deadline is not None:
            view["until"] = result.return_deadline.isoformat()
        return view
    if isinstance(result, Contract):
        return {"kind": "contract", "ref": result.policy_number, "state": result.status.value}
    if isinstance(result, Coverage):
        return {"kind": "coverage", "ref": result.policy_number, "state": "checked"}
    if isinstance(result, ClaimStatus):
        return {
            "kind": "claim",
            "ref": result.claim_number,
            "state": result.status.value,
            "missing": list(result.open_documents),
        }
    if isinstance(result, ClaimDraft):
        return {"kind": "claim", "ref": result.claim_number, "state": result.status.value}
    return None


def failed_view(tool: str, *, not_found: bool) -> dict[str, Any]:
    return {"kind": _KIND_OF_TOOL.get(tool, "record"), "state": "not_found" if not_found else "unavailable"}


_NOUN = {
    "order": ("Bestellung", "Order"),
    "return": ("Rücksendung zu Bestellung", "Return for order"),
    "contract": ("Vertrag", "Contract"),
    "coverage": ("Versicherungsschutz von", "Cover of"),
    "claim": ("Schadenmeldung", "Claim"),
    "record": ("Vorgang", "Record"),
}
_RETURN = {
    "eligible": ("möglich", "possible"),
    "window_expired": ("Frist abgelaufen", "the return period has ended"),
    "not_delivered_yet": ("erst nach der Zustellung möglich", "possible once it is delivered"),
    "return_already_open": ("bereits angemeldet", "already requested"),
    "order_cancelled": ("nicht nötig, die Bestellung ist storniert", "not needed, the order is cancelled"),
}


def _date(value: str, lang: Language) -> str:
    try:
        return fmt_date(dt.date.fromisoformat(value), lang)
    except ValueError:
        return value


def describe_checked(item: dict[str, Any], language: str) -> str:
    """One line for the status page, e.g. "Order 10023: shipped, DHL: in transit, expected 4 December 2026"."""
    lang = Language.DE if language == "de" else Language.EN
    de = lang is Language.DE
    kind = str(item.get("kind", "record"))
    noun = _NOUN.get(kind, _NOUN["record"])[0 if de else 1]
    state = str(item.get("state", ""))
    if state == "not_found":
        return f"{noun}: {'nicht zu Ihren Angaben gefunden' if de else 'not found for you'}"
    if state == "unavailable":
        return f"{noun}: {'System nicht erreichbar, ein Mensch prüft das' if de else 'system unavailable, a person checks it'}"
    ref = str(item.get("ref", ""))
    head = f"{noun} {ref}".strip()
    if kind == "return":
        text = f"{head}: {_RETURN.get(state, (state, state))[0 if de else 1]}"
        if item.get("until"):
            text += f" ({'bis' if de else 'until'} {_date(str(item['until']), lang)})"
        return text
    if kind == "coverage":
        return f"{head} {'geprüft' if de else 'checked'}"
    text = f"{head}: {label(state, lang)}"
    if item.get("carrier"):
        text += f", {item['carrier']}: {label(str(item.get('shipment', '')), lang)}"
    if item.get("expected"):
        text += f", {'voraussichtlich' if de else 'expected'} {_date(str(item['expected']), lang)}"
    missing = [label(str(m), lang) for m in item.get("missing") or []]
    if missing:
        text += f" ({'es fehlen' if de else 'still needed'}: {', '.join(missing)})"
    return text
