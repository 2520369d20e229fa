"""Empathy without simulation: a short acknowledgement for an angry or distressed customer.

It names the customer's problem (from the intent and, where there are any, the lookups: "Your order
10023 has not arrived.") and, where a fault on our side is plausible (a delivery problem, a
complaint, an invoice error), apologises. It states facts and never claims a feeling: no "I feel",
no "I understand how you feel", no "sorry to hear"; the next step is the text it prefixes (the
handoff notice or the draft). The texts are reviewed templates, kept here as data, in German and
English; any other language gets none (never a sentence in a language the customer did not write).

The acknowledgement is AI-authored text: the turn sends it as ``AuthorKind.AI``, so every channel
adds the AI disclosure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from knowledge.article import Language
from knowledge.backoffice.models import (
    ClaimDraft,
    ClaimStatus,
    Contract,
    Coverage,
    OrderStatus,
    ReturnEligibility,
    Risk,
)
from knowledge.drafting.labels import label

__all__ = [
    "ANGER_THRESHOLD",
    "FRUSTRATION_THRESHOLD",
    "FAULT_PLAUSIBLE",
    "APOLOGY",
    "TEMPLATES",
    "AckTemplate",
    "Acknowledgement",
    "acknowledgement",
    "choose_acknowledgement",
    "distressed",
]

ANGER_THRESHOLD = 0.6
FRUSTRATION_THRESHOLD = 0.6

# intents where the customer's problem may well be our fault: the acknowledgement apologises
FAULT_PLAUSIBLE = frozenset({"delivery_problem", "order_status", "complaint", "invoice_question"})

APOLOGY: Mapping[Language, str] = {
    Language.DE: "Dafür entschuldigen wir uns.",
    Language.EN: "We apologise for this.",
}


@dataclass(frozen=True, slots=True)
class AckTemplate:
    """One reviewed sentence per language. ``needs``: the looked-up fields it names (all must be known)."""

    id: str
    needs: frozenset[str]
    de: str
    en: str

    def text(self, language: Language) -> str:
        return self.de if language is Language.DE else self.en


def _t(id: str, de: str, en: str, *needs: str) -> AckTemplate:
    return AckTemplate(id=id, needs=frozenset(needs), de=de, en=en)


# intent -> templates, most specific first; "general" covers every other intent and none
TEMPLATES: Mapping[str, tuple[AckTemplate, ...]] = {
    "delivery_problem": (
        _t(
            "delivery_problem.order",
            "Ihre Bestellung {order} ist nicht bei Ihnen angekommen.",
            "Your order {order} has not arrived.",
            "order",
        ),
        _t("delivery_problem", "Ihre Bestellung ist nicht bei Ihnen angekommen.", "Your order has not arrived."),
    ),
    "order_status": (
        _t(
            "order_status.order",
            "Sie warten noch auf Ihre Bestellung {order}.",
            "You are still waiting for your order {order}.",
            "order",
        ),
        _t("order_status", "Sie warten noch auf Ihre Bestellung.", "You are still waiting for your order."),
    ),
    "invoice_question": (
        _t(
            "invoice_question.order",
            "Sie haben uns ein Problem mit der Rechnung zu Ihrer Bestellung {order} gemeldet.",
            "You have reported a problem with the invoice for your order {order}.",
            "order",
        ),
        _t(
            "invoice_question",
            "Sie haben uns ein Problem mit Ihrer Rechnung gemeldet.",
            "You have reported a problem with your invoice.",
        ),
    ),
    "complaint": (
        _t(
            "complaint.order",
            "Sie haben uns geschrieben, dass wir Ihr Anliegen zur Bestellung {order} nicht gelöst haben.",
            "You have told us that we have not solved your problem with order {order}.",
            "order",
        ),
        _t(
            "complaint",
            "Sie haben uns geschrieben, dass wir Ihr Anliegen nicht gelöst haben.",
            "You have told us that we have not solved your problem.",
        ),
    ),
    "return_request": (
        _t(
            "return_request.order",
            "Sie möchten Ihre Bestellung {order} zurücksenden.",
            "You would like to return your order {order}.",
            "order",
        ),
        _t("return_request", "Sie möchten eine Bestellung zurücksenden.", "You would like to return an order."),
    ),
    "claim_report": (
        _t(
            "claim_report.claim",
            "Ihre Schadenmeldung {claim} zum {risk} liegt uns vor.",
            "We have received your {risk} claim {claim}.",
            "claim",
            "risk",
        ),
        _t("claim_report", "Sie haben uns einen Schaden gemeldet.", "You have reported a claim to us."),
    ),
    "claim_status": (
        _t(
            "claim_status.claim",
            "Sie warten auf Nachricht zu Ihrer Schadenmeldung {claim} zum {risk}.",
            "You are waiting for news on your {risk} claim {claim}.",
            "claim",
            "risk",
        ),
        _t(
            "claim_status",
            "Sie warten auf Nachricht zu Ihrer Schadenmeldung.",
            "You are waiting for news on your claim.",
        ),
    ),
    "coverage_question": (
        _t(
            "coverage_question.product",
            "Sie haben eine Frage zu Ihrer {product}.",
            "You have a question about your {product}.",
            "product",
        ),
        _t(
            "coverage_question",
            "Sie haben eine Frage zu Ihrem Versicherungsschutz.",
            "You have a question about your insurance cover.",
        ),
    ),
    "contract_change": (
        _t(
            "contract_change.policy",
            "Sie möchten Ihren Vertrag {policy} ändern.",
            "You would like to change your policy {policy}.",
            "policy",
        ),
        _t("contract_change", "Sie möchten Ihren Vertrag ändern.", "You would like to change your policy."),
    ),
    "wants_human": (
        _t("wants_human", "Sie möchten mit einem Menschen sprechen.", "You have asked to speak to a person."),
    ),
    "general": (_t("general", "Ihr Anliegen ist noch nicht gelöst.", "Your request has not been resolved yet."),),
}

# a claim's risk as the acknowledgement names it (de: a masculine noun, after "zum")
_RISKS: Mapping[Risk, tuple[str, str]] = {
    Risk.WATER_DAMAGE: ("Wasserschaden", "water damage"),
    Risk.FIRE: ("Brandschaden", "fire damage"),
    Risk.BURGLARY: ("Einbruch", "burglary"),
    Risk.STORM_HAIL: ("Sturm- oder Hagelschaden", "storm or hail damage"),
    Risk.BICYCLE_THEFT: ("Fahrraddiebstahl", "bicycle theft"),
    Risk.GLASS_BREAKAGE: ("Glasbruch", "glass breakage"),
    Risk.NATURAL_HAZARDS: ("Elementarschaden", "natural hazard"),
    Risk.PERSONAL_LIABILITY: ("Haftpflichtschaden", "liability"),
    Risk.RENTED_PROPERTY: ("Mietsachschaden", "rented property"),
    Risk.LOST_KEYS: ("Schlüsselverlust", "lost keys"),
}


class Acknowledgement(BaseModel):
    """The text, the template it came from and whether it apologises (for the decision record)."""

    model_config = ConfigDict(frozen=True)

    text: str
    template_id: str
    apologised: bool


def distressed(*, anger: float, frustration: float) -> bool:
    return anger >= ANGER_THRESHOLD or frustration >= FRUSTRATION_THRESHOLD


def _language(language: str) -> Language | None:
    try:
        return Language((language or "").split("-")[0].lower())
    except ValueError:
        return None


def _fields(lookups: Sequence[object], language: Language) -> dict[str, str]:
    """What the lookups tell about the customer's case, the first result of each kind winning."""
    found: dict[str, str] = {}
    for r in lookups:
        if isinstance(r, OrderStatus | ReturnEligibility):
            found.setdefault("order", r.order_number)
        elif isinstance(r, ClaimStatus | ClaimDraft):
            found.setdefault("claim", r.claim_number)
            de, en = _RISKS.get(r.risk, (label(r.risk, Language.DE), label(r.risk, Language.EN)))
            found.setdefault("risk", de if language is Language.DE else en)
        elif isinstance(r, Contract | Coverage):
            found.setdefault("policy", r.policy_number)
            found.setdefault("product", label(r.product, language))
    return found


def choose_acknowledgement(
    intent: str | None, *, language: str, anger: float, frustration: float, lookups: Sequence[object] = ()
) -> Acknowledgement | None:
    """The acknowledgement for this turn, or None when the customer is neither angry nor frustrated
    (below the thresholds) or writes in a language without templates."""
    lang = _language(language)
    if lang is None or not distressed(anger=anger, frustration=frustration):
        return None
    key = intent if intent is not None and intent in TEMPLATES else "general"
    fields = _fields(lookups, lang)
    template = next(t for t in TEMPLATES[key] if t.needs <= fields.keys())
    apologise = key in FAULT_PLAUSIBLE
    text = template.text(lang).format(**fields)
    if apologise:
        text = f"{text} {APOLOGY[lang]}"
    return Acknowledgement(text=text, template_id=template.id, apologised=apologise)


def acknowledgement(
    intent: str | None, *, language: str, anger: float, frustration: float, lookups: Sequence[object] = ()
) -> str | None:
    """The text the turn puts before its handoff notice or draft, or None (see :func:`choose_acknowledgement`)."""
    ack = choose_acknowledgement(intent, language=language, anger=anger, frustration=frustration, lookups=lookups)
    return ack.text if ack is not None else None
