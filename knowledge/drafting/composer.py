"""The embedded composer: grounded drafts without an LLM.

It only restates looked-up facts (through fixed template sentences) and quotes the best knowledge
article snippet, in the customer's language, and cites every source it used. No source, no answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.article import Language
from knowledge.backoffice.models import (
    RETURN_WINDOW_DAYS,
    ClaimDraft,
    ClaimStatus,
    Contract,
    Coverage,
    OrderState,
    OrderStatus,
    ReturnDecision,
    ReturnEligibility,
    Risk,
)
from knowledge.drafting.context import customer_hits, render_context, source_ids
from knowledge.drafting.grounding import check_grounding
from knowledge.drafting.labels import fmt_date, fmt_money, label
from knowledge.drafting.models import Draft, DraftIntent, DraftMode, LookupResult
from knowledge.retrieval import Hit
from knowledge.text import normalize, tokenize

__all__ = ["compose", "detect_risk", "MIN_COVERAGE"]

MIN_COVERAGE = 0.5  # a KB snippet is quoted only if it shares at least half the query's terms

_INTENT_TAGS: dict[DraftIntent, frozenset[str]] = {
    DraftIntent.ORDER_STATUS: frozenset({"tracking", "sendungsverfolgung", "order status", "bestellstatus"}),
    DraftIntent.SHIPPING: frozenset({"shipping", "versand", "delivery time", "lieferzeit"}),
    DraftIntent.RETURN_REQUEST: frozenset({"returns", "return", "rücksendung", "retoure"}),
    DraftIntent.REFUND: frozenset({"refund", "erstattung", "rückerstattung"}),
    DraftIntent.INVOICE: frozenset({"invoice", "rechnung"}),
    DraftIntent.PAYMENT: frozenset({"payment", "zahlung", "payment methods", "zahlungsarten"}),
    DraftIntent.DAMAGED_GOODS: frozenset({"damaged", "beschädigt", "transportschaden"}),
    DraftIntent.COMPLAINT: frozenset({"complaint", "beschwerde", "reklamation"}),
    DraftIntent.COVERAGE_QUESTION: frozenset(
        {
            "covered",
            "versichert",
            "household contents",
            "hausrat",
            "liability",
            "haftpflicht",
            "water damage",
            "wasserschaden",
            "bicycle",
            "fahrrad",
        }
    ),
    DraftIntent.CLAIM_REPORT: frozenset({"report claim", "schaden melden", "documents", "unterlagen"}),
    DraftIntent.CLAIM_STATUS: frozenset({"claim status", "schadenstatus", "claim handling", "schadenbearbeitung"}),
    DraftIntent.CONTRACT_INFO: frozenset({"contract change", "vertragsänderung", "sum insured", "versicherungssumme"}),
    DraftIntent.CONTRACT_CHANGE: frozenset({"contract change", "vertragsänderung", "moving", "umzug"}),
    DraftIntent.CANCELLATION: frozenset({"cancellation", "kündigung", "stornieren", "cancel"}),
    DraftIntent.GENERAL: frozenset(),
}


def _best_hit(hits: Sequence[Hit], intent: DraftIntent, *, question: str = "") -> Hit | None:
    """The top relevant hit, preferring one tagged for the intent if it scores close to the top. A
    general question has no intent tags: it prefers the close hit whose title and tags name most of
    the question's terms ("How long does delivery take?" -> "Delivery times and shipping costs")."""
    relevant = [h for h in hits if h.coverage >= MIN_COVERAGE]
    if not relevant:
        return None
    wanted = _INTENT_TAGS[intent]
    top = relevant[0].score
    if intent is DraftIntent.GENERAL and question:
        terms = set(tokenize(question))
        close = [h for h in relevant if h.score >= 0.5 * top]
        named = [len(terms & set(tokenize(" ".join((h.title, *h.tags))))) for h in close]
        if max(named) > 0:
            return close[named.index(max(named))]
        return relevant[0]
    for hit in relevant:
        if hit.score >= 0.3 * top and wanted & {t.lower() for t in hit.tags}:
            return hit
    return relevant[0]


_RISK_WORDS: dict[Risk, tuple[str, ...]] = {
    Risk.WATER_DAMAGE: ("wasser", "water", "leak", "leitung", "rohr", "pipe", "flood", "ueberschwemm"),
    Risk.BICYCLE_THEFT: ("fahrrad", "bike", "bicycle", "e-bike", "rad gestohlen"),
    Risk.BURGLARY: ("einbruch", "burglar", "break-in", "gestohlen", "stolen", "diebstahl", "theft"),
    Risk.FIRE: ("feuer", "brand", "fire", "blitz", "lightning"),
    Risk.STORM_HAIL: ("sturm", "hagel", "storm", "hail"),
    Risk.GLASS_BREAKAGE: ("glasbruch", "glass", "fenster", "window", "scheibe"),
    Risk.NATURAL_HAZARDS: ("hochwasser", "elementar", "erdbeben", "earthquake", "starkregen"),
    Risk.LOST_KEYS: ("schluessel", "key"),
    Risk.RENTED_PROPERTY: ("mietsache", "vermieter", "landlord", "rented"),
}


def detect_risk(text: str) -> Risk | None:
    """The risk a customer asks about, from plain keywords (first match in a fixed order)."""
    lowered = normalize(text)
    for risk in (
        Risk.NATURAL_HAZARDS,
        Risk.BICYCLE_THEFT,
        Risk.LOST_KEYS,
        Risk.RENTED_PROPERTY,
        Risk.GLASS_BREAKAGE,
        Risk.WATER_DAMAGE,
        Risk.STORM_HAIL,
        Risk.FIRE,
        Risk.BURGLARY,
    ):
        if any(word in lowered for word in _RISK_WORDS[risk]):
            return risk
    return None


def _order(r: OrderStatus, lang: Language) -> list[str]:
    de = lang is Language.DE
    d = lambda v: fmt_date(v, lang)  # noqa: E731
    money = fmt_money(r.total, r.currency, language=lang)
    out: list[str] = []
    if r.status is OrderState.SHIPPED and r.shipment is not None:
        s = r.shipment
        out.append(
            f"Ihre Bestellung {r.order_number} vom {d(r.ordered_on)} wurde am {d(s.shipped_on)} an "
            f"{s.carrier} übergeben (Sendungsnummer {s.tracking_number}, Status: {label(s.status, lang)}). "
            f"Voraussichtliche Zustellung: {d(s.eta)}."
            if de
            else f"Your order {r.order_number} from {d(r.ordered_on)} was handed to {s.carrier} on "
            f"{d(s.shipped_on)} (tracking number {s.tracking_number}, status: {label(s.status, lang)}). "
            f"Expected delivery: {d(s.eta)}."
        )
    elif r.status is OrderState.DELIVERED and r.delivered_on is not None:
        carrier = f" ({r.shipment.carrier})" if r.shipment else ""
        out.append(
            f"Ihre Bestellung {r.order_number} wurde am {d(r.delivered_on)} zugestellt{carrier}."
            if de
            else f"Your order {r.order_number} was delivered on {d(r.delivered_on)}{carrier}."
        )
    elif r.status is OrderState.PROCESSING:
        out.append(
            f"Ihre Bestellung {r.order_number} vom {d(r.ordered_on)} ist in Bearbeitung und noch nicht versandt."
            if de
            else f"Your order {r.order_number} from {d(r.ordered_on)} is being processed and has not shipped yet."
        )
    else:
        out.append(
            f"Ihre Bestellung {r.order_number} hat den Status: {label(r.status, lang)}."
            if de
            else f"Your order {r.order_number} has the status: {label(r.status, lang)}."
        )
    out.append(f"Bestellwert: {money}." if de else f"Order total: {money}.")
    if r.open_return is not None:
        out.append(
            f"Zu dieser Bestellung gibt es eine Rücksendung ({r.open_return.return_id}, Status: "
            f"{label(r.open_return.status, lang)})."
            if de
            else f"There is a return for this order ({r.open_return.return_id}, status: "
            f"{label(r.open_return.status, lang)})."
        )
    return out


def _returns(r: ReturnEligibility, lang: Language) -> list[str]:
    de = lang is Language.DE
    d = lambda v: fmt_date(v, lang)  # noqa: E731
    n, days = r.order_number, RETURN_WINDOW_DAYS
    if r.decision is ReturnDecision.ELIGIBLE and r.return_deadline and r.delivered_on:
        return [
            f"Sie können Bestellung {n} bis zum {d(r.return_deadline)} zurückgeben ({days} Tage ab "
            f"Zustellung am {d(r.delivered_on)})."
            if de
            else f"You can return order {n} until {d(r.return_deadline)} ({days} days from delivery on "
            f"{d(r.delivered_on)})."
        ]
    if r.decision is ReturnDecision.WINDOW_EXPIRED and r.return_deadline:
        return [
            f"Die Rückgabefrist für Bestellung {n} ist am {d(r.return_deadline)} abgelaufen "
            f"({days} Tage ab Zustellung)."
            if de
            else f"The return period for order {n} ended on {d(r.return_deadline)} ({days} days from delivery)."
        ]
    if r.decision is ReturnDecision.NOT_DELIVERED_YET:
        return [
            f"Bestellung {n} ist noch nicht zugestellt; die Rückgabefrist von {days} Tagen beginnt mit der Zustellung."
            if de
            else f"Order {n} has not been delivered yet; the {days}-day return period starts on delivery."
        ]
    if r.decision is ReturnDecision.RETURN_ALREADY_OPEN and r.open_return:
        return [
            f"Für Bestellung {n} läuft bereits die Rücksendung {r.open_return.return_id} (Status: "
            f"{label(r.open_return.status, lang)})."
            if de
            else f"Return {r.open_return.return_id} is already open for order {n} (status: "
            f"{label(r.open_return.status, lang)})."
        ]
    return [
        f"Bestellung {n} wurde storniert; eine Rücksendung ist nicht nötig."
        if de
        else f"Order {n} was cancelled, so there is nothing to return."
    ]


def _contract(r: Contract, lang: Language) -> list[str]:
    de = lang is Language.DE
    d = lambda v: fmt_date(v, lang)  # noqa: E731
    premium = fmt_money(r.premium, r.currency, language=lang)
    return [
        f"Ihr Vertrag {r.policy_number} ({label(r.product, lang)}) besteht seit dem {d(r.start_date)}; "
        f"der Beitrag beträgt {premium} {label(r.premium_interval, lang)}. Die Kündigungsfrist beträgt "
        f"{r.notice_period_months} Monate zum Ende des Versicherungsjahres; das nächste Versicherungsjahr "
        f"beginnt am {d(r.next_renewal)}."
        if de
        else f"Your policy {r.policy_number} ({label(r.product, lang)}) started on {d(r.start_date)}; the "
        f"premium is {premium} {label(r.premium_interval, lang)}. The notice period is "
        f"{r.notice_period_months} months before the end of the insurance year; the next insurance year "
        f"starts on {d(r.next_renewal)}."
    ]


def _coverage(r: Coverage, lang: Language, *, risk: Risk | None) -> list[str]:
    de = lang is Language.DE
    item = r.for_risk(risk) if risk is not None else None
    if item is not None:
        name = label(item.risk, lang)
        if item.covered:
            ded = fmt_money(item.deductible, r.currency, language=lang)
            lim = fmt_money(item.limit, r.currency, language=lang)
            return [
                f"Laut Ihrem Vertrag {r.policy_number} mitversichert: {name}. Selbstbeteiligung: "
                f"{ded} je Schaden, Höchstgrenze: {lim}."
                if de
                else f"Under your policy {r.policy_number}, {name} is covered. Deductible: {ded} per claim, "
                f"limit: {lim}."
            ]
        return [
            f"In Ihrem Vertrag {r.policy_number} nicht mitversichert: {name}."
            if de
            else f"{name.capitalize()} is not covered under your policy {r.policy_number}."
        ]
    covered = [i for i in r.items if i.covered]
    excluded = [i for i in r.items if not i.covered]
    text = f"Ihr Vertrag {r.policy_number} umfasst: " if de else f"Your policy {r.policy_number} covers: "
    text += (
        ", ".join(
            f"{label(i.risk, lang)} ({fmt_money(i.deductible, r.currency, language=lang)} "
            f"{'Selbstbeteiligung' if de else 'deductible'})"
            for i in covered
        )
        + "."
    )
    out = [text]
    if excluded:
        names = ", ".join(label(i.risk, lang) for i in excluded)
        out.append(f"Nicht mitversichert: {names}." if de else f"Not covered: {names}.")
    return out


def _claim(r: ClaimStatus, lang: Language) -> list[str]:
    de = lang is Language.DE
    d = lambda v: fmt_date(v, lang)  # noqa: E731
    out = [
        f"Ihr Schaden {r.claim_number} ({label(r.risk, lang)}, gemeldet am {d(r.reported_on)}) hat den "
        f"Status: {label(r.status, lang)}. Letzte Änderung: {d(r.last_update)}."
        if de
        else f"Your claim {r.claim_number} ({label(r.risk, lang)}, reported on {d(r.reported_on)}) has the "
        f"status: {label(r.status, lang)}. Last update: {d(r.last_update)}."
    ]
    if r.open_documents:
        docs = ", ".join(label(x, lang) for x in r.open_documents)
        out.append(f"Es fehlen noch: {docs}." if de else f"Still missing: {docs}.")
    return out


def _claim_draft(r: ClaimDraft, lang: Language) -> list[str]:
    de = lang is Language.DE
    d = lambda v: fmt_date(v, lang)  # noqa: E731
    return [
        f"Wir haben Ihre Schadenmeldung zu Vertrag {r.policy_number} ({label(r.risk, lang)}, Schadentag "
        f"{d(r.incident_date)}) unter der Nummer {r.claim_number} erfasst. Status: {label(r.status, lang)}."
        " Über die Regulierung entscheidet ein Mensch, nicht die KI."
        if de
        else f"We have recorded your claim for policy {r.policy_number} ({label(r.risk, lang)}, incident on "
        f"{d(r.incident_date)}) under number {r.claim_number}. Status: {label(r.status, lang)}. A person, "
        "not the AI, decides on the claim."
    ]


def _facts(result: LookupResult, lang: Language, customer_message: str) -> list[str]:
    if isinstance(result, OrderStatus):
        return _order(result, lang)
    if isinstance(result, ReturnEligibility):
        return _returns(result, lang)
    if isinstance(result, Contract):
        return _contract(result, lang)
    if isinstance(result, Coverage):
        return _coverage(result, lang, risk=detect_risk(customer_message))
    if isinstance(result, ClaimStatus):
        return _claim(result, lang)
    return _claim_draft(result, lang)


def compose(
    intent: DraftIntent | str,
    language: Language | str,
    *,
    customer_message: str,
    hits: Sequence[Hit] = (),
    lookups: Sequence[LookupResult] = (),
) -> Draft | None:
    """Draft a reply from lookups and KB hits only. ``None`` means no source: hand the turn to a human.

    Only customer-facing hits in the customer's language are used. ``customer_message`` should be
    the redacted text; it is used to pick the asked-about risk, never copied into the reply.
    """
    intent = DraftIntent(intent)  # an unknown intent is a programming error, not a silent default
    lang = Language(language)
    de = lang is Language.DE
    best = _best_hit([h for h in customer_hits(hits) if h.language is lang], intent, question=customer_message)
    lines: list[str] = []
    for result in lookups:
        lines.extend(_facts(result, lang, customer_message))
    if best is not None:
        lead = f"Aus unserem Hilfeartikel „{best.title}“: " if de else f'From our help article "{best.title}": '
        lines.append(lead + best.snippet)
    if not lines:
        return None

    used_hits = [best] if best is not None else []
    sources = source_ids(used_hits, lookups)
    text = "\n\n".join(lines)
    context = render_context(used_hits, lookups, language=lang)
    report = check_grounding(text, sources, context=context, known_sources=sources, customer_message=customer_message)
    if lookups:
        confidence = 0.9 if best is not None else 0.8
    else:
        confidence = round(0.4 + 0.4 * min(best.score, 1.0) * best.coverage, 3) if best is not None else 0.0
    return Draft(
        text=text,
        sources=sources,
        confidence=confidence,
        mode=DraftMode.COMPOSER,
        grounded=report.grounded,
        problems=report.problems,
    )
