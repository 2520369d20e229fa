"""The steps of a turn as plain async functions. ``flows/turn.py`` wraps each one in a Prefect task.

Every step writes a timeline event (the customer's status page shows them) and adds to the
decision record (the explanation of the turn)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from conversation import (
    ActorKind,
    AuthorKind,
    ChannelKind,
    Contact,
    ConversationStatus,
    DecisionRecord,
    EventType,
    Intent,
    LookupRecord,
    OutcomeUnknown,
    PermanentDeliveryError,
    Priority,
    Route,
    TimelineEvent,
    TransientDeliveryError,
)
from conversation.replies import handoff_notice, review_notice
from conversation.sql.desk import ticket_label
from conversation.sql.desk_store import DeskStore
from conversation.sql.timeline import TURN_DONE_EVENTS
from flows.turn_work import TurnDeps, TurnOutcome, TurnWork
from knowledge.drafting import DraftingFailed
from services.assignment import auto_assign
from services.email_verification import EmailVerification
from services.escalation import ATTENTION_QUEUE
from services.media_fetch import MediaFetch
from services.outcomes import record_handoff
from services.sla import HandoffPlan, plan_handoff, refresh_clock, start_clock

if TYPE_CHECKING:
    from knowledge.drafting.empathy import Acknowledgement

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
]

log = logging.getLogger("glassdesk.turn")

HUMAN_STATES = {ConversationStatus.HANDED_OFF, ConversationStatus.AWAITING_AGENT}


async def record_event(
    deps: TurnDeps, work: TurnWork, kind: EventType, data: dict[str, Any], *, actor: ActorKind = ActorKind.AI
) -> None:
    event = TimelineEvent(
        conversation_id=work.conversation_id, type=kind, actor=actor, causation_id=work.message_id, data=data
    )
    await deps.services.timeline.add_event(event)
    await deps.services.bus.publish(
        work.conversation_id, {"event": kind.value, "actor": actor.value, **data, "at": event.occurred_at.isoformat()}
    )


# -- 1. load ----------------------------------------------------------------------------------------
async def load_turn(deps: TurnDeps, work: TurnWork) -> TurnWork:
    s = deps.services
    work.message = await s.messages.get_message(work.message_id)
    if work.message.channel is ChannelKind.SMS and work.message.meta.get("media"):
        # MMS media: fetched here, in the worker, never in the webhook; what fails stays as a note
        work.message = await MediaFetch(s).fetch(work.message_id)
    work.conversation = await s.messages.get_conversation(work.conversation_id)
    work.contact = await s.messages.contact_for(work.conversation_id)
    work.human_in_charge = work.conversation.status in HUMAN_STATES
    if await s.timeline.has_event(causation_id=work.message_id, types=TURN_DONE_EVENTS):
        work.outcome = TurnOutcome.ALREADY_DONE  # a redelivery after the turn completed
    if work.human_in_charge and work.outcome != TurnOutcome.ALREADY_DONE:
        # a customer message while a person is in charge: it starts (or joins) a next-response wait
        await refresh_clock(s.db, work.conversation_id, settings=s.settings)
    if work.outcome == TurnOutcome.ALREADY_DONE:
        return work
    if work.conversation.channel is ChannelKind.EMAIL:
        # a reply that quotes a pending one-time code proves the sender owns the mailbox (also while a
        # person has the conversation: the agent may have sent the code)
        result = await EmailVerification(s).confirm_in_reply(work.conversation_id, work.message.text)
        if result is not None and result.merged:
            work.contact = await s.messages.contact_for(work.conversation_id)
    if work.human_in_charge:
        return work  # the turn stops here: no need for the clarification count or the customer
    work.attempts = sum(
        1 for d in await s.timeline.decisions_of(work.conversation_id) if d.route is Route.ASK_CLARIFICATION
    )
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
            customer = await deps.kit.lookups.find_customer(phone=ident.address.number)
            if customer is not None:
                await _name_contact(deps, contact, customer_id=customer.customer_id, name=customer.name)
                return customer.customer_id, True
    for ident in identities:
        if ident.address.kind == "email":
            customer = await deps.kit.lookups.find_customer(email=ident.address.address)
            if customer is not None:
                if ident.verified:
                    await _name_contact(deps, contact, customer_id=customer.customer_id, name=customer.name)
                return customer.customer_id, bool(ident.verified)
    return None, False


async def _name_contact(deps: TurnDeps, contact: Contact, *, customer_id: str, name: str) -> None:
    """A contact without a name takes its verified back-office customer's, so the inbox list names
    them before anyone opens the customer panel. A name a person or an email header gave is kept."""
    if not contact.display_name:
        await deps.services.messages.link_backoffice(contact.id, customer_id=customer_id, display_name=name)


# -- 2. understand ----------------------------------------------------------------------------------
async def understand_turn(deps: TurnDeps, work: TurnWork) -> TurnWork:
    from services.turn_facts import turn_language
    from understanding import understand_with_redaction
    from understanding.entities import extract_entities

    assert work.message is not None and work.conversation is not None
    text = work.message.text
    u, redacted = await asyncio.to_thread(
        understand_with_redaction,
        text,
        model=deps.kit.intents.current,
        language_detector=deps.kit.language_detector,
        redactor=deps.services.redactor,
    )
    work.understanding = u
    work.redacted_text = redacted.text
    work.pii_mapping = dict(redacted.mapping)
    work.language = turn_language(u, fallback=work.conversation.language)
    work.amount = extract_entities(text).amount
    if work.language != work.conversation.language:  # one write only when the language changed
        work.conversation = await deps.services.messages.route_conversation(
            work.conversation_id, work.conversation.status, language=work.language
        )
    await record_event(
        deps,
        work,
        EventType.UNDERSTOOD,
        {
            "intent": u.intent,
            "confidence": round(u.confidence, 3),
            "out_of_scope": u.out_of_scope,
            "language": work.language,
            "sentiment": str(u.sentiment),
            "asked_for_human": u.asked_for_human,
            "pii_kinds": [str(k) for k in u.pii_kinds],
        },
    )
    return work


# -- 3. look up -------------------------------------------------------------------------------------
LOOKUP_FAILED = "failed:"  # summary prefix of a lookup whose system could not answer (not "not found")

# Runs one back-office call: (connector, tool, call) -> the call's result. The turn flow passes one that
# makes each lookup its own Prefect task run named after the connector; by default it is called directly.
LookupRunner = Callable[[str, str, Callable[[], Awaitable[object]]], Awaitable[object]]


async def _call_directly(connector: str, tool: str, call: Callable[[], Awaitable[object]]) -> object:
    return await call()


async def look_up(deps: TurnDeps, work: TurnWork, *, run: LookupRunner = _call_directly) -> TurnWork:
    from knowledge import LookupFailed, LookupNotFound
    from knowledge.backoffice.planning import LookupRequest, plan_lookups
    from knowledge.drafting.checked import customer_view, failed_view
    from understanding.entities import extract_entities

    assert work.understanding is not None and work.message is not None
    query = work.redacted_text
    work.hits = list(deps.kit.kb.search(query, language=work.language, k=3)) if query.strip() else []
    entities = extract_entities(work.message.text)
    request = LookupRequest(
        intent=Intent.parse(work.understanding.intent),
        customer_id=work.customer_id,
        identity_verified=work.identity_verified,
        text=work.message.text,
        description=work.redacted_text,
        idempotency_key=work.message_id,
        order_ref=entities.order_ref,
        policy_ref=entities.policy_ref,
        claim_ref=entities.claim_ref,
        incident_date=entities.incident_date,
    )
    checked: list[dict[str, Any]] = []  # what the customer's status page may say about each lookup
    for plan in plan_lookups(request, deps.kit.lookups):
        tool, ref = plan.tool, plan.reference
        source = f"lookup:{tool}:{ref}" if ref else f"lookup:{tool}"
        connector = deps.kit.lookups.connector_of(tool)
        started = time.perf_counter()

        def record(
            ok: bool,
            summary: str = "",
            *,
            source_id: str = source,
            t: str = tool,
            c: str = connector,
            t0: float = started,
        ) -> LookupRecord:
            took = round((time.perf_counter() - t0) * 1000, 1)
            return LookupRecord(tool=t, source_id=source_id, ok=ok, summary=summary, connector=c, duration_ms=took)

        try:
            result = await run(connector, tool, plan.call)
        except LookupNotFound:
            work.lookup_records.append(record(False, "not found for this customer"))
            checked.append(failed_view(tool, not_found=True))
            continue
        except LookupFailed as exc:
            work.lookup_records.append(record(False, f"{LOOKUP_FAILED} {exc.reason}"[:200]))
            checked.append(failed_view(tool, not_found=False))
            continue
        results = result if isinstance(result, tuple) else (result,)
        for r in results[:3]:
            work.lookups.append(r)
            work.lookup_records.append(record(True, source_id=getattr(r, "source_id", source)))
            if (view := customer_view(r)) is not None:
                checked.append(view)
    await record_event(
        deps,
        work,
        EventType.LOOKED_UP,
        {
            "lookups": [
                {"tool": r.tool, "ok": r.ok, "connector": r.connector, "duration_ms": r.duration_ms}
                for r in work.lookup_records
            ],
            "checked": checked,
            "articles": [h.article_id for h in work.hits],
            "identified": work.customer_id is not None,
        },
    )
    return work


# -- 4. decide --------------------------------------------------------------------------------------
async def decide(deps: TurnDeps, work: TurnWork) -> TurnWork:
    from policies import evaluate
    from services.sla import calendars
    from services.turn_facts import build_facts

    u = work.understanding
    assert u is not None and work.message is not None and work.conversation is not None
    policy = await deps.kit.policy.current()
    st = deps.services.settings
    facts = build_facts(
        u,
        text=work.message.text,
        channel=work.conversation.channel,
        language=work.language,
        amount=work.amount,
        attempts=work.attempts,
        business_hours=calendars(st).default.is_open(dt.datetime.now(dt.UTC)),
        lookup_tools=[r.tool for r in work.lookup_records],
        lookup_unavailable=any(not r.ok and r.summary.startswith(LOOKUP_FAILED) for r in work.lookup_records),
    )
    decision = evaluate(policy, facts, guards=deps.kit.guards)
    work.decision = decision
    work.record = DecisionRecord(
        conversation_id=work.conversation_id,
        inbound_message_id=work.message_id,
        route=Route(decision.route.value),
        rule_id=decision.rule_id,
        policy_version=str(decision.policy_version),
        reason=decision.reason,
        # the route the policy chose, kept apart from the final route (a missing source or an ungrounded
        # draft changes that later), so a dry run compares policy with policy
        facts={**facts.model_dump(mode="json"), "policy_route": decision.route.value},
        sources=tuple(h.source_id for h in work.hits),
        lookups=tuple(work.lookup_records),
        confidence=round(float(u.confidence), 4),
    )
    await deps.services.timeline.save_decision(work.record)
    await record_event(
        deps,
        work,
        EventType.DECIDED,
        {
            "route": decision.route.value,
            "rule_id": decision.rule_id,
            "policy_version": str(decision.policy_version),
        },
    )
    return work


# -- 5. draft ---------------------------------------------------------------------------------------
async def draft_reply(deps: TurnDeps, work: TurnWork) -> TurnWork:
    from understanding import restore

    assert work.understanding is not None and work.record is not None
    intent = _draft_intent(work.understanding.intent)
    lang = work.language if work.language in {"de", "en"} else "en"
    try:
        draft = await deps.kit.drafter.draft(
            intent, language=lang, customer_message=work.redacted_text, hits=work.hits, lookups=work.lookups
        )
    except DraftingFailed as exc:
        if exc.transient:
            raise  # the provider may be back in a moment: the task's retries try again
        # the model answered with something unusable: it would again, so a person takes the turn now
        log.warning("turn %s: drafting failed (%s), handing off", work.message_id, type(exc.__cause__ or exc).__name__)
        work.draft_failure = str(exc)[:200]
        draft = None
    if draft is not None and work.pii_mapping:
        draft = draft.model_copy(update={"text": restore(draft.text, work.pii_mapping)})
    ack = _acknowledgement(work)
    if draft is not None and ack is not None:  # an angry or distressed customer: name the problem first
        draft = draft.model_copy(update={"text": f"{ack.text}\n\n{draft.text}"})
    work.draft = draft
    if draft is not None:
        work.record = work.record.model_copy(
            update={
                "sources": draft.sources,
                "draft_mode": draft.mode.value,
                "confidence": draft.confidence,
                "model": deps.kit.drafter.name,
                "facts": {
                    **work.record.facts,
                    "acknowledgement": ack.template_id if ack else None,
                    "apologised": bool(ack and ack.apologised),
                },
            }
        )
        await deps.services.timeline.save_decision(work.record)
    await record_event(
        deps,
        work,
        EventType.DRAFTED,
        {
            "drafted": draft is not None,
            "grounded": bool(draft and draft.grounded),
            "sources": list(draft.sources) if draft else [],
            "mode": draft.mode.value if draft else None,
        },
    )
    return work


def _acknowledgement(work: TurnWork) -> Acknowledgement | None:
    """A reviewed acknowledgement that names the problem (and apologises where a fault is plausible) for
    an angry or distressed customer; None otherwise. Never a simulated feeling."""
    from knowledge.drafting.empathy import choose_acknowledgement

    u = work.understanding
    if u is None:
        return None
    return choose_acknowledgement(
        u.intent,
        language=work.language,
        anger=u.emotions.get("anger", 0.0),
        frustration=u.emotions.get("frustration", 0.0),
        lookups=work.lookups,
    )


def _draft_intent(intent: str | None) -> str:
    from knowledge.drafting import DraftIntent

    # general_question is answered from the article whose title and tags best name the question
    mapping = {"delivery_problem": "shipping", "invoice_question": "invoice", "general_question": "general"}
    name = mapping.get(intent or "", intent or "general")
    return name if name in {d.value for d in DraftIntent} else "general"


# -- 6a. deliver ------------------------------------------------------------------------------------


async def _deliver(
    deps: TurnDeps, work: TurnWork, text: str, *, author_kind: AuthorKind, done: TurnOutcome
) -> TurnOutcome:
    """Send through the outbox. The channel being down is not the turn's failure: the reply waits in
    the outbox, which the reconciler retries until it is sent or refused for good. A refusal hands
    the conversation to a person; an unknown outcome is settled by the provider or a person."""
    try:
        msg = await deps.services.deliverer.deliver(
            work.conversation_id, text, author_kind=author_kind, language=work.language, causation_id=work.message_id
        )
    except TransientDeliveryError:
        log.warning("turn %s: channel unavailable, reply queued in the outbox", work.message_id)
        return TurnOutcome.REPLY_QUEUED
    except OutcomeUnknown:
        log.warning("turn %s: delivery outcome unknown", work.message_id)
        return TurnOutcome.DELIVERY_UNSURE
    except PermanentDeliveryError:
        await needs_person(deps, work, reason="the channel refused our reply")
        return TurnOutcome.HANDED_OFF
    if work.record is not None:
        work.record = work.record.model_copy(update={"outbound_message_id": msg.id})
        await deps.services.timeline.save_decision(work.record)
    return done


async def needs_person(deps: TurnDeps, work: TurnWork, *, reason: str) -> None:
    """Put the conversation in the attention queue with a reason the agent can read."""
    plan = plan_handoff(deps.services.settings, queue=ATTENTION_QUEUE, priority=Priority.HIGH)
    await _route_to_person(deps, work, plan=plan, status=ConversationStatus.HANDED_OFF)
    await record_event(
        deps,
        work,
        EventType.HANDED_OFF,
        {"queue": ATTENTION_QUEUE, "priority": Priority.HIGH.value, "reason": reason[:200]},
        actor=ActorKind.SYSTEM,
    )
    await record_handoff(
        deps.services, work.conversation_id, reason, causation_id=work.message_id, queue=ATTENTION_QUEUE
    )


async def send_reply(deps: TurnDeps, work: TurnWork) -> TurnWork:
    assert work.draft is not None and work.record is not None
    work.outcome = await _deliver(deps, work, work.draft.text, author_kind=AuthorKind.AI, done=TurnOutcome.AUTO_REPLIED)
    return work


_CLARIFY = {
    "de": "Damit ich Ihnen richtig helfe: Geht es um eine Bestellung (bitte mit Bestellnummer) oder um Ihre "
    "Versicherung (bitte mit Policennummer)? Sie können auch jederzeit einen Menschen verlangen.",
    "en": "So that I can help you properly: is this about an order (please include the order number) or your "
    "insurance (please include the policy number)? You can also ask for a person at any time.",
}


async def ask_clarification(deps: TurnDeps, work: TurnWork) -> TurnWork:
    text = _CLARIFY.get(work.language, _CLARIFY["en"])
    work.outcome = await _deliver(deps, work, text, author_kind=AuthorKind.AI, done=TurnOutcome.CLARIFIED)
    return work


# -- 6b. hand off -----------------------------------------------------------------------------------
async def hand_off(deps: TurnDeps, work: TurnWork, *, reason: str, now: dt.datetime | None = None) -> TurnWork:
    """``now``: the time of the handoff (default: the current time)."""
    d = work.decision
    queue = (d.queue if d is not None and d.queue else None) or "general"
    priority = Priority(d.priority.value if d is not None and d.priority else "normal")
    # the queue's calendar and targets; the policy's sla_minutes is the first response, in business time
    plan = plan_handoff(
        deps.services.settings,
        queue=queue,
        priority=priority,
        sla_minutes=d.sla_minutes if d is not None else None,
        now=now,
    )
    # The notice is written to the outbox before the conversation is marked as a person's: a crash in
    # between re-runs this step, which finds the notice already written and never loses it.
    ack = _acknowledgement(work)
    # with an acknowledgement the notice is AI-written (so it carries the disclosure); else a system notice.
    # Outside business hours it says when the team is back.
    ticket = ticket_label(await DeskStore(deps.services.db).ticket_number(work.conversation_id))
    notice = handoff_notice(work.language, back_at=plan.back_at, ticket=ticket)
    text = f"{ack.text} {notice}" if ack else notice
    try:
        await deps.services.deliverer.deliver(
            work.conversation_id,
            text,
            author_kind=AuthorKind.AI if ack else AuthorKind.SYSTEM,
            language=work.language,
            causation_id=work.message_id,
        )
    except (TransientDeliveryError, OutcomeUnknown):
        log.warning("turn %s: handoff notice queued in the outbox", work.message_id)
    except PermanentDeliveryError:
        log.warning("turn %s: handoff notice refused by the channel", work.message_id)
    await _route_to_person(deps, work, plan=plan, status=ConversationStatus.HANDED_OFF)
    if work.record is not None:
        summary = _handoff_summary(work)
        work.record = work.record.model_copy(
            update={
                "route": Route.HANDOFF,
                "reason": f"{work.record.reason}; {reason}"[:1000],
                "facts": {
                    **work.record.facts,
                    "handoff_summary": summary,
                    "acknowledgement": ack.template_id if ack else None,
                    "apologised": bool(ack and ack.apologised),
                },
            }
        )
        await deps.services.timeline.save_decision(work.record)
    await record_event(
        deps,
        work,
        EventType.HANDED_OFF,
        {"queue": queue, "priority": priority.value, "reason": reason[:200]},
        actor=ActorKind.SYSTEM,
    )
    await record_handoff(
        deps.services,
        work.conversation_id,
        reason,
        causation_id=work.message_id,
        queue=queue,
        rule_id=d.rule_id if d is not None else None,
    )
    work.outcome = TurnOutcome.HANDED_OFF
    return work


def _handoff_summary(work: TurnWork) -> str:
    u = work.understanding
    parts = [f"intent {u.intent} ({u.confidence:.0%})" if u else "not understood"]
    for r in work.lookup_records:
        parts.append(f"{r.tool} {'ok' if r.ok else r.summary}: {r.source_id}")
    return "; ".join(parts)[:500]


async def _route_to_person(deps: TurnDeps, work: TurnWork, *, plan: HandoffPlan, status: ConversationStatus) -> None:
    """Mark the conversation as a person's in the plan's queue and start its SLA clock (the three
    timers in the queue's calendar; a clock already running for this person's episode is kept)."""
    await deps.services.messages.route_conversation(
        work.conversation_id, status, queue=plan.queue, priority=plan.priority, sla_due_at=plan.first_response_due
    )
    since = work.message.created_at if work.message is not None and not work.human_in_charge else None
    await start_clock(deps.services.db, work.conversation_id, plan=plan, new_episode_since=since)
    await auto_assign(deps.services, work.conversation_id)  # a queue that auto-assigns: the next agent


async def await_agent(deps: TurnDeps, work: TurnWork, *, reason: str, now: dt.datetime | None = None) -> TurnWork:
    assert work.draft is not None and work.record is not None
    plan = plan_handoff(deps.services.settings, queue="approvals", priority=Priority.NORMAL, now=now)
    await _route_to_person(deps, work, plan=plan, status=ConversationStatus.AWAITING_AGENT)
    work.record = work.record.model_copy(
        update={
            "route": Route.DRAFT_FOR_APPROVAL,
            "reason": f"{work.record.reason}; {reason}"[:1000],
            "facts": {
                **work.record.facts,
                "draft_text": work.draft.text,
                "draft_grounded": work.draft.grounded,
                "draft_problems": list(work.draft.problems),
                "await_reason": reason,
            },
        }
    )
    await deps.services.timeline.save_decision(work.record)
    await record_event(deps, work, EventType.AWAITING_AGENT, {"reason": reason[:200]}, actor=ActorKind.SYSTEM)
    if deps.services.settings.acknowledge_drafts:
        # the customer is not left guessing while a person reviews the draft (the status link comes with it)
        try:
            await deps.services.deliverer.deliver(
                work.conversation_id,
                review_notice(
                    work.language,
                    back_at=plan.back_at,
                    ticket=ticket_label(await DeskStore(deps.services.db).ticket_number(work.conversation_id)),
                ),
                author_kind=AuthorKind.SYSTEM,
                language=work.language,
                causation_id=work.message_id,
            )
        except (TransientDeliveryError, OutcomeUnknown, PermanentDeliveryError) as exc:
            log.warning("turn %s: review notice not sent now (%s)", work.message_id, type(exc).__name__)
    work.outcome = TurnOutcome.AWAITING_AGENT
    return work
