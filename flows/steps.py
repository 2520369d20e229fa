"""The steps of a turn as plain async functions. ``flows/turn.py`` wraps each one in a Prefect task.

Every step writes a timeline event (the customer's status page shows them) and adds to the
decision record (the explanation of the turn)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

from conversation import (
    ActorKind,
    AuthorKind,
    ConversationStatus,
    DecisionRecord,
    EventType,
    LookupRecord,
    Priority,
    Route,
    TimelineEvent,
)
from conversation.sql.timeline import TURN_DONE_EVENTS
from flows.deps import TurnDeps
from flows.turn_work import TurnOutcome, TurnWork

__all__ = [
    "load_turn",
    "understand_turn",
    "look_up",
    "decide",
    "draft_reply",
    "send_reply",
    "ask_clarification",
    "hand_off",
    "await_agent",
    "record_event",
    "claim_outcome_requested",
]

log = logging.getLogger("glassdesk.turn")

HUMAN_STATES = {ConversationStatus.HANDED_OFF, ConversationStatus.AWAITING_AGENT}
_AMOUNT = re.compile(r"(\d{1,6}(?:[.,]\d{2})?)\s?(?:€|eur|euro)|(?:€|eur)\s?(\d{1,6}(?:[.,]\d{2})?)", re.I)
_ORDER_REF = re.compile(r"(?<![\w-])#?(\d{5,10})(?![\w-])")
_POLICY_REF = re.compile(r"\bPOL-?\d{6}\b", re.I)
_CLAIM_REF = re.compile(r"\bCLM-?\d{4}-?\d{4}\b", re.I)
_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")


async def record_event(deps: TurnDeps, work: TurnWork, kind: EventType, data: dict[str, Any], *,
                       actor: ActorKind = ActorKind.AI) -> None:
    event = TimelineEvent(conversation_id=work.conversation_id, type=kind, actor=actor,
                          causation_id=work.message_id, data=data)
    await deps.services.timeline.add_event(event)
    await deps.services.bus.publish(work.conversation_id, {"event": kind.value, "actor": actor.value, **data,
                                                           "at": event.occurred_at.isoformat()})


# -- 1. load ----------------------------------------------------------------------------------------
async def load_turn(deps: TurnDeps, work: TurnWork) -> TurnWork:
    s = deps.services
    work.message = await s.messages.get_message(work.message_id)
    work.conversation = await s.messages.get_conversation(work.conversation_id)
    work.contact = await s.messages.contact_for(work.conversation_id)
    work.human_in_charge = work.conversation.status in HUMAN_STATES
    if await s.timeline.has_event(causation_id=work.message_id, types=TURN_DONE_EVENTS):
        work.outcome = TurnOutcome.ALREADY_DONE  # a redelivery after the turn completed
    if work.outcome == TurnOutcome.ALREADY_DONE or work.human_in_charge:
        return work  # the turn stops here: no need for the clarification count or the customer
    work.attempts = sum(1 for d in await s.timeline.decisions_of(work.conversation_id)
                        if d.route is Route.ASK_CLARIFICATION)
    work.customer_id, work.identity_verified = await _customer(deps, work)
    return work


async def _customer(deps: TurnDeps, work: TurnWork) -> tuple[str | None, bool]:
    """The back-office customer of this contact. A phone number reached us through the carrier: it
    counts as verified for read lookups. An email From header is only a claim: it may file a claim
    draft for human review, never read data. A chat session is anonymous."""
    contact = work.contact
    assert contact is not None
    identities = await deps.services.messages.identities_of(contact.id)
    for ident in identities:
        if ident.address.kind == "phone":
            customer = await deps.lookups.find_customer(phone=ident.address.number)
            if customer is not None:
                return customer.customer_id, True
    for ident in identities:
        if ident.address.kind == "email":
            customer = await deps.lookups.find_customer(email=ident.address.address)
            if customer is not None:
                return customer.customer_id, bool(ident.verified)
    return None, False


# -- 2. understand ----------------------------------------------------------------------------------
async def understand_turn(deps: TurnDeps, work: TurnWork) -> TurnWork:
    from understanding import understand_with_redaction

    assert work.message is not None and work.conversation is not None
    text = work.message.text
    u, redacted = await asyncio.to_thread(understand_with_redaction, text, model=deps.intent_model,
                                          language_detector=deps.language_detector, redactor=deps.redactor)
    work.understanding = u
    work.redacted_text = redacted.text
    work.pii_mapping = dict(redacted.mapping)
    work.language = u.language if u.language in {"de", "en", "fr", "it"} else (work.conversation.language or "en")
    work.amount = _amount(text)
    if work.language != work.conversation.language:  # one write only when the language changed
        work.conversation = await deps.services.messages.route_conversation(
            work.conversation_id, work.conversation.status, language=work.language)
    await record_event(deps, work, EventType.UNDERSTOOD, {
        "intent": u.intent, "confidence": round(u.confidence, 3), "out_of_scope": u.out_of_scope,
        "language": work.language, "sentiment": str(u.sentiment), "asked_for_human": u.asked_for_human,
        "pii_kinds": [str(k) for k in u.pii_kinds],
    })
    return work


def _amount(text: str) -> float | None:
    m = _AMOUNT.search(text)
    if not m:
        return None
    return float((m.group(1) or m.group(2)).replace(",", "."))


# -- 3. look up -------------------------------------------------------------------------------------
async def look_up(deps: TurnDeps, work: TurnWork) -> TurnWork:
    from knowledge import LookupFailed, LookupNotFound

    u = work.understanding
    intent = u.intent or ""
    query = work.redacted_text
    work.hits = list(deps.kb.search(query, language=work.language, k=3)) if query.strip() else []
    calls = _planned_lookups(intent, work, deps.lookups)
    for tool, ref, call in calls:
        source = f"lookup:{tool}:{ref}" if ref else f"lookup:{tool}"
        try:
            result = await call()
        except LookupNotFound:
            work.lookup_records.append(LookupRecord(tool=tool, source_id=source, ok=False, summary="not found for this customer"))
            continue
        except LookupFailed as exc:
            work.lookup_records.append(LookupRecord(tool=tool, source_id=source, ok=False, summary=f"failed: {exc.reason}"[:200]))
            continue
        results = result if isinstance(result, tuple) else (result,)
        for r in results[:3]:
            work.lookups.append(r)
            work.lookup_records.append(LookupRecord(tool=tool, source_id=getattr(r, "source_id", source), ok=True))
    await record_event(deps, work, EventType.LOOKED_UP, {
        "lookups": [{"tool": r.tool, "ok": r.ok} for r in work.lookup_records],
        "articles": [h.article_id for h in work.hits],
        "identified": work.customer_id is not None,
    })
    return work


def _planned_lookups(intent: str, work: TurnWork, lk: Any) -> list[tuple[str, str | None, Any]]:
    cid = work.customer_id
    if cid is None:
        return []
    text = work.message.text if work.message else ""
    order = _first(_ORDER_REF, text)
    policy = _first(_POLICY_REF, text)
    claim = _first(_CLAIM_REF, text)
    plans: list[tuple[str, str | None, Any]] = []
    if not work.identity_verified:
        # An unverified identity may only file a claim draft that a person reviews.
        if intent == "claim_report":
            plans.append(_claim_intake(lk, cid, policy, work))
        return [p for p in plans if p is not None]
    if intent in {"order_status", "delivery_problem"}:
        plans.append(("order_status", order, (lambda: lk.order_status(cid, order)) if order else (lambda: lk.list_orders(cid))))
    elif intent == "return_request":
        if order:
            plans.append(("return_eligibility", order, lambda: lk.return_eligibility(cid, order)))
    elif intent == "coverage_question":
        if policy:
            plans.append(("coverage", policy, lambda: lk.coverage(cid, policy)))
        else:
            plans.append(("contract", None, lambda: lk.list_contracts(cid)))
    elif intent == "claim_status":
        if claim:
            plans.append(("claim_status", claim, lambda: lk.claim_status(cid, claim)))
    elif intent == "claim_report":
        plans.append(_claim_intake(lk, cid, policy, work))
    elif intent == "contract_change" and policy:
        plans.append(("contract", policy, lambda: lk.contract(cid, policy)))
    return [p for p in plans if p is not None]


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    """The first reference of a kind the customer typed. It is only ever looked up within the
    identified customer's own records."""
    m = pattern.search(text)
    return (m.group(1) if m.groups() else m.group(0)) if m else None


def _claim_intake(lk: Any, cid: str, policy: str | None, work: TurnWork) -> tuple[str, str | None, Any] | None:
    from knowledge.drafting.composer import detect_risk

    if not policy:
        return None
    text = work.message.text if work.message else ""
    risk = detect_risk(text)
    if risk is None:
        return None  # the person in the claims queue asks what happened
    incident = _incident_date(text) or dt.date.today()
    return ("claim_intake", policy, lambda: lk.claim_intake(
        cid, policy, risk=risk, incident_date=incident, description=work.redacted_text[:2000],
        idempotency_key=work.message_id))


def _incident_date(text: str) -> dt.date | None:
    m = _DATE.search(text)
    if not m:
        return None
    try:
        if m.group(1):
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return dt.date(int(m.group(4)), int(m.group(5)), int(m.group(6)))
    except ValueError:
        return None


# -- 4. decide --------------------------------------------------------------------------------------
async def decide(deps: TurnDeps, work: TurnWork) -> TurnWork:
    from policies import Facts, evaluate

    u = work.understanding
    policy = await deps.policy.current()
    claim_decision = claim_outcome_requested(work.message.text, intent=u.intent,  # type: ignore[union-attr]
                                             lookup_tools=[r.tool for r in work.lookup_records])
    facts = Facts(
        intent=u.intent or "out_of_scope",
        intent_confidence=round(float(u.confidence), 4),
        out_of_scope=bool(u.out_of_scope),
        channel=work.conversation.channel.value,  # type: ignore[union-attr]
        language=work.language,
        sentiment=str(u.sentiment),
        sentiment_score=_clip(0.5 + (u.sentiment_scores.positive - u.sentiment_scores.negative) / 2),
        anger=_clip(u.emotions.get("anger", 0.0)),
        frustration=_clip(u.emotions.get("frustration", 0.0)),
        urgency=_clip(u.emotions.get("urgency", 0.0)),
        amount=work.amount,
        within_business_hours=_business_hours(deps),
        attempts=work.attempts,
        asked_for_human=bool(u.asked_for_human),
        legal_effect=claim_decision,
        claim_decision=claim_decision,
    )
    decision = evaluate(policy, facts, guards=deps.guards)
    work.decision = decision
    work.record = DecisionRecord(
        conversation_id=work.conversation_id,
        inbound_message_id=work.message_id,
        route=Route(decision.route.value),
        rule_id=decision.rule_id,
        policy_version=str(decision.policy_version),
        reason=decision.reason,
        facts=facts.model_dump(mode="json"),
        sources=tuple(h.source_id for h in work.hits),
        lookups=tuple(work.lookup_records),
        confidence=round(float(u.confidence), 4),
    )
    await deps.services.timeline.save_decision(work.record)
    await record_event(deps, work, EventType.DECIDED, {
        "route": decision.route.value, "rule_id": decision.rule_id, "policy_version": str(decision.policy_version),
    })
    return work


_CLAIM_INTENTS = frozenset({"claim_report", "claim_status"})
_CLAIM_TOOLS = frozenset({"claim_status", "claim_intake"})
# Asking for an outcome of a claim, in German and English. Stems without a leading word boundary so
# German compounds count too ("Schadenzahlung", "Kostenübernahme"). Over-matching is intended: a false
# positive only sends the turn to a person.
_OUTCOME = re.compile(
    r"genehmig|bewillig|ablehn|abgelehnt|lehn\w*\s+(?:\w+\s+){0,6}ab\b|entscheid|entschied|zahl|erstatt"
    r"|regulier|anerkenn|anerkannt|übernehm|übernimm|übernomm|uebernehm|uebernimm|zusage|zugesagt|ersetz"
    r"|widerspruch|\bgeld\b|\bmoney\b"
    r"|\bapprov|\breject|\bden(?:y|ied|ial)|\bdecid|\bdecision|\bpay|\bpaid|\bpayout|\brefund"
    r"|\breimburs|\bsettle|\baccept|\bcompensat|\bcover(?:ed|s)?\b|\bappeal|\boutcome|\bverdict",
    re.I,
)


def claim_outcome_requested(text: str, *, intent: str | None, lookup_tools: list[str] | tuple[str, ...] = ()) -> bool:
    """Whether this turn may touch a claim decision (approve, reject, pay, decide): the message is
    about a claim (claim intent, a claim lookup in this turn, or a claim number in the text) and asks
    for an outcome. Kept wide on purpose: the guard then sends the turn to a person (GDPR Art. 22)."""
    about_claim = (intent or "") in _CLAIM_INTENTS or bool(_CLAIM_TOOLS.intersection(lookup_tools)) \
        or bool(_CLAIM_REF.search(text))
    return about_claim and bool(_OUTCOME.search(text.casefold()))


def _clip(x: float) -> float:
    return max(0.0, min(1.0, float(x)))


def _business_hours(deps: TurnDeps) -> bool:
    st = deps.services.settings
    start, end = st.business_hours.split("-")
    now = dt.datetime.now(ZoneInfo(st.timezone))
    if now.weekday() >= 5:
        return False
    return start <= now.strftime("%H:%M") < end


# -- 5. draft ---------------------------------------------------------------------------------------
async def draft_reply(deps: TurnDeps, work: TurnWork) -> TurnWork:
    from knowledge.drafting import compose, draft_with_llm
    from understanding import restore

    intent = _draft_intent(work.understanding.intent)
    lang = work.language if work.language in {"de", "en"} else "en"
    if deps.chat_model is not None:
        draft = await draft_with_llm(deps.chat_model, intent, language=lang, customer_message=work.redacted_text,
                                     hits=work.hits, lookups=work.lookups)
    else:
        draft = compose(intent, lang, customer_message=work.redacted_text, hits=work.hits, lookups=work.lookups)
    if draft is not None and work.pii_mapping:
        draft = draft.model_copy(update={"text": restore(draft.text, work.pii_mapping)})
    work.draft = draft
    if draft is not None:
        work.record = work.record.model_copy(update={  # type: ignore[union-attr]
            "sources": draft.sources, "draft_mode": draft.mode.value, "confidence": draft.confidence,
            "model": "composer" if deps.chat_model is None else getattr(deps.chat_model, "model_name", "llm"),
        })
        await deps.services.timeline.save_decision(work.record)  # type: ignore[arg-type]
    await record_event(deps, work, EventType.DRAFTED, {
        "drafted": draft is not None, "grounded": bool(draft and draft.grounded),
        "sources": list(draft.sources) if draft else [], "mode": draft.mode.value if draft else None,
    })
    return work


def _draft_intent(intent: str | None) -> str:
    from knowledge.drafting import DraftIntent

    # general_question is answered from the article whose title and tags best name the question
    mapping = {"delivery_problem": "shipping", "invoice_question": "invoice", "general_question": "general"}
    name = mapping.get(intent or "", intent or "general")
    return name if name in {d.value for d in DraftIntent} else "general"


# -- 6a. deliver ------------------------------------------------------------------------------------
async def send_reply(deps: TurnDeps, work: TurnWork) -> TurnWork:
    assert work.draft is not None and work.record is not None
    msg = await deps.delivery.deliver(work.conversation_id, work.draft.text, author_kind=AuthorKind.AI,
                                      language=work.language, causation_id=work.message_id)
    work.record = work.record.model_copy(update={"outbound_message_id": msg.id})
    await deps.services.timeline.save_decision(work.record)
    work.outcome = TurnOutcome.AUTO_REPLIED
    return work


_CLARIFY = {
    "de": "Damit ich Ihnen richtig helfe: Geht es um eine Bestellung (bitte mit Bestellnummer) oder um Ihre "
          "Versicherung (bitte mit Policennummer)? Sie können auch jederzeit einen Menschen verlangen.",
    "en": "So that I can help you properly: is this about an order (please include the order number) or your "
          "insurance (please include the policy number)? You can also ask for a person at any time.",
}


async def ask_clarification(deps: TurnDeps, work: TurnWork) -> TurnWork:
    text = _CLARIFY.get(work.language, _CLARIFY["en"])
    msg = await deps.delivery.deliver(work.conversation_id, text, author_kind=AuthorKind.AI,
                                      language=work.language, causation_id=work.message_id)
    work.record = work.record.model_copy(update={"outbound_message_id": msg.id})  # type: ignore[union-attr]
    await deps.services.timeline.save_decision(work.record)  # type: ignore[arg-type]
    work.outcome = TurnOutcome.CLARIFIED
    return work


# -- 6b. hand off -----------------------------------------------------------------------------------
_HANDOFF = {
    "de": "Vielen Dank. Ein Mitarbeiter aus unserem Team übernimmt Ihr Anliegen und meldet sich bei Ihnen.",
    "en": "Thank you. A person from our team is taking over your request and will get back to you.",
}


async def hand_off(deps: TurnDeps, work: TurnWork, *, reason: str) -> TurnWork:
    d = work.decision
    queue = (d.queue if d is not None and d.queue else None) or "general"
    priority = Priority((d.priority.value if d is not None and d.priority else "normal"))
    sla = dt.timedelta(minutes=(d.sla_minutes if d is not None and d.sla_minutes else 240))
    await deps.services.messages.route_conversation(
        work.conversation_id, ConversationStatus.HANDED_OFF, queue=queue, priority=priority,
        sla_due_at=dt.datetime.now(dt.UTC) + sla)
    if work.record is not None:
        summary = _handoff_summary(work)
        work.record = work.record.model_copy(update={"route": Route.HANDOFF,
                                                     "reason": f"{work.record.reason}; {reason}"[:1000],
                                                     "facts": {**work.record.facts, "handoff_summary": summary}})
        await deps.services.timeline.save_decision(work.record)
    await record_event(deps, work, EventType.HANDED_OFF, {"queue": queue, "priority": priority.value, "reason": reason[:200]},
                       actor=ActorKind.SYSTEM)
    text = _HANDOFF.get(work.language, _HANDOFF["en"])
    await deps.delivery.deliver(work.conversation_id, text, author_kind=AuthorKind.SYSTEM, language=work.language,
                                causation_id=work.message_id)
    work.outcome = TurnOutcome.HANDED_OFF
    return work


def _handoff_summary(work: TurnWork) -> str:
    u = work.understanding
    parts = [f"intent {u.intent} ({u.confidence:.0%})" if u else "not understood"]
    for r in work.lookup_records:
        parts.append(f"{r.tool} {'ok' if r.ok else r.summary}: {r.source_id}")
    return "; ".join(parts)[:500]


async def await_agent(deps: TurnDeps, work: TurnWork, *, reason: str) -> TurnWork:
    assert work.draft is not None and work.record is not None
    await deps.services.messages.route_conversation(
        work.conversation_id, ConversationStatus.AWAITING_AGENT, queue="approvals", priority=Priority.NORMAL,
        sla_due_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    work.record = work.record.model_copy(update={
        "route": Route.DRAFT_FOR_APPROVAL,
        "reason": f"{work.record.reason}; {reason}"[:1000],
        "facts": {**work.record.facts, "draft_text": work.draft.text, "draft_grounded": work.draft.grounded,
                  "draft_problems": list(work.draft.problems), "await_reason": reason},
    })
    await deps.services.timeline.save_decision(work.record)
    await record_event(deps, work, EventType.AWAITING_AGENT, {"reason": reason[:200]}, actor=ActorKind.SYSTEM)
    work.outcome = TurnOutcome.AWAITING_AGENT
    return work

