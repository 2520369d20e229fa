"""Outcomes that show the desk worked: the survey on resolve, the customer's answer, handoff reasons.

- On resolve (``services.agent_desk``), the customer is asked on their own channel (email, SMS or
  chat, through the outbox, as a system text in their language) whether it is solved and for a 1-5
  rating. One outcome row per resolution (``conversation.sql.outcomes``).
- Their answer is taken by the turn (``flows/outcome_step.py``) before anything classifies it:
  "yes" (or a rating) keeps the conversation resolved and thanks them; "no" leaves it reopened (the
  0007_desk trigger reopened it when the message arrived) and puts it in its queue for the person
  who resolved it, with the handoff reason ``not_solved``. A second answer fills the same row.
- Handoff reasons are recorded per conversation from a closed set (``conversation.handoff_reasons``).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from typing import Any

from conversation import (
    ActorKind,
    AuthorKind,
    ConversationStatus,
    DeliveryError,
    Direction,
    EventType,
    Message,
    OutcomeUnknown,
    PermanentDeliveryError,
    TimelineEvent,
    TransientDeliveryError,
)
from conversation.handoff_reasons import HandoffReason, handoff_reason
from conversation.sql.desk import DeskQueries, DeskState, ticket_label
from conversation.sql.desk_store import DeskStore
from conversation.sql.outcomes import AnswerPart, OutcomeRow, OutcomeStore
from conversation.survey import not_solved_text, parse_answer, survey_text, thanks_text
from services.container import Container

__all__ = ["Outcomes", "AnswerTaken", "TakenAnswer", "record_handoff"]

log = logging.getLogger("glassdesk.outcomes")


@enum.unique
class AnswerTaken(enum.StrEnum):
    SOLVED = "solved"  # resolved again, thanked
    RATED = "rated"  # a rating (solved not said, or said before), thanked
    NOT_SOLVED = "not_solved"  # reopened, with a person
    REPEAT = "repeat"  # a second answer for the same resolution: nothing new stored, nothing sent


@dataclass(frozen=True, slots=True)
class TakenAnswer:
    taken: AnswerTaken
    outcome: OutcomeRow
    reply_queued: bool = False  # the channel was down: the thanks waits in the outbox


async def record_handoff(
    services: Container,
    conversation_id: str,
    reason: str | HandoffReason,
    *,
    causation_id: str | None,
    queue: str | None = None,
    rule_id: str | None = None,
) -> HandoffReason:
    """Record why a conversation went to a person (a free-text reason is mapped to the closed set).
    Idempotent per causing message; safe to call next to the HANDED_OFF timeline event."""
    text = reason.value if isinstance(reason, HandoffReason) else reason
    code = handoff_reason(text, rule_id=rule_id)
    key = f"msg:{causation_id}" if causation_id else f"conv:{conversation_id}:{dt.datetime.now(dt.UTC).isoformat()}"
    await OutcomeStore(services.db).record_handoff(conversation_id, code, key=key, detail=text, queue=queue)
    return code


class Outcomes:
    def __init__(self, services: Container) -> None:
        self._s = services
        self._store = OutcomeStore(services.db)

    # -- on resolve ---------------------------------------------------------------------------------
    async def on_resolved(self, conversation_id: str, *, resolved_by: str) -> OutcomeRow:
        """Open the outcome row for this resolution and ask the customer (once per resolution; a
        channel that is down gets it from the outbox later). Call it under the conversation's lock."""
        await self._store.sync_handoffs(conversation_id=conversation_id)
        outcome_id = await self._store.open_resolution(conversation_id, resolved_by=resolved_by)
        conv = await self._s.messages.get_conversation(conversation_id)
        row = await DeskQueries(self._s.db).row(conversation_id)
        ticket = ticket_label(row.ticket_number if row else None)
        text = survey_text(conv.language, ticket=ticket)
        try:
            msg = await self._s.deliverer.deliver(
                conv.id,
                text,
                author_kind=AuthorKind.SYSTEM,
                language=conv.language or "en",
                causation_id=await self._last_customer_message(conv.id),
            )
        except (TransientDeliveryError, OutcomeUnknown) as exc:
            log.warning("survey for %s not sent yet (%s); the outbox keeps it", conv.id, type(exc).__name__)
            written = await self._newest_survey(conv.id, text)
            if written is not None:
                await self._store.mark_asked(outcome_id, survey_message_id=written)
        except PermanentDeliveryError as exc:
            log.warning("survey for %s refused by the channel (%s)", conv.id, type(exc).__name__)
        else:
            await self._store.mark_asked(outcome_id, survey_message_id=msg.id)
        await self._publish(conv.id, {"event": "survey_sent", "outcome_id": outcome_id})
        return await self._store.get(outcome_id)

    # -- the customer's answer ----------------------------------------------------------------------
    async def take_answer(self, message: Message) -> TakenAnswer | None:
        """Consume ``message`` if it answers the conversation's open survey; None when it is anything
        else (then the survey is over and the message is a turn like any other)."""
        if message.direction is not Direction.INBOUND or message.author_kind is not AuthorKind.CUSTOMER:
            return None
        survey = await self._store.survey_for(message.conversation_id, received_at=message.created_at)
        if survey is None:
            return None
        answer = parse_answer(message.text)
        if answer is None:
            await self._store.supersede(survey.id)
            return None
        parts, outcome = await self._store.record_answer(survey.id, answer, message_id=message.id)
        queued = False
        if AnswerPart.SOLVED in parts and outcome.solved is False:
            taken = AnswerTaken.NOT_SOLVED
            queued = await self._back_to_a_person(message, outcome)
        elif not parts:
            taken = AnswerTaken.REPEAT  # a second answer: nothing stored, nothing sent, the state kept
            if outcome.solved is not False:
                await self._resolved_again(message.conversation_id)
        else:
            taken = AnswerTaken.SOLVED if AnswerPart.SOLVED in parts else AnswerTaken.RATED
            if outcome.solved is not False:  # a rating after "not solved": the person keeps it
                await self._resolved_again(message.conversation_id)
            queued = await self._reply(message, thanks_text(outcome.language, answer))
        await self._publish(
            message.conversation_id,
            {"event": "outcome_recorded", "outcome_id": outcome.id, "taken": taken.value},
        )
        return TakenAnswer(taken=taken, outcome=outcome, reply_queued=queued)

    async def _resolved_again(self, conversation_id: str) -> None:
        row = await DeskQueries(self._s.db).row(conversation_id)
        if row is not None and row.desk_state is not DeskState.RESOLVED and row.desk_state is not DeskState.CLOSED:
            await DeskStore(self._s.db).set_state(conversation_id, DeskState.RESOLVED)
            await self._publish(
                conversation_id,
                {"event": "desk_state_changed", "actor": ActorKind.SYSTEM.value, "state": DeskState.RESOLVED.value},
            )

    async def _back_to_a_person(self, message: Message, outcome: OutcomeRow) -> bool:
        """The trigger reopened the conversation; it goes to its queue, to the person who resolved it."""
        conv = await self._s.messages.get_conversation(message.conversation_id)
        assignee = outcome.resolved_by if await self._s.users.by_username(outcome.resolved_by) else None
        await self._s.messages.route_conversation(
            conv.id, ConversationStatus.HANDED_OFF, queue=outcome.queue, assignee=assignee or ""
        )
        await record_handoff(self._s, conv.id, HandoffReason.NOT_SOLVED, causation_id=message.id, queue=outcome.queue)
        if await self._s.timeline.has_event(causation_id=message.id, types=(EventType.HANDED_OFF,)):
            return await self._reply(message, not_solved_text(outcome.language))  # a retried step
        event = TimelineEvent(
            conversation_id=conv.id,
            type=EventType.HANDED_OFF,
            actor=ActorKind.SYSTEM,
            causation_id=message.id,
            data={"queue": outcome.queue, "reason": "customer said not solved"},
        )
        await self._s.timeline.add_event(event)
        await self._publish(
            conv.id,
            {"event": event.type.value, "actor": event.actor.value, **event.data, "at": event.occurred_at.isoformat()},
        )
        return await self._reply(message, not_solved_text(outcome.language))

    async def _reply(self, message: Message, text: str) -> bool:
        """A system text in answer to ``message``; True when the channel was down and it waits."""
        conv = await self._s.messages.get_conversation(message.conversation_id)
        try:
            await self._s.deliverer.deliver(
                conv.id, text, author_kind=AuthorKind.SYSTEM, language=conv.language or "en", causation_id=message.id
            )
        except (TransientDeliveryError, OutcomeUnknown):
            return True
        except DeliveryError as exc:
            log.warning("answer to survey in %s not sent (%s)", conv.id, type(exc).__name__)
        return False

    # -- helpers --------------------------------------------------------------------------------------
    async def _last_customer_message(self, conversation_id: str) -> str | None:
        for m in reversed(await self._s.messages.list_messages(conversation_id)):
            if m.direction is Direction.INBOUND and m.author_kind is AuthorKind.CUSTOMER:
                return m.id
        return None

    async def _newest_survey(self, conversation_id: str, text: str) -> str | None:
        for m in reversed(await self._s.messages.list_messages(conversation_id)):
            if m.direction is Direction.OUTBOUND and m.author_kind is AuthorKind.SYSTEM and m.text == text:
                return m.id
        return None

    async def _publish(self, conversation_id: str, payload: dict[str, Any]) -> None:
        try:
            await self._s.bus.publish(conversation_id, payload)
        except Exception as exc:  # noqa: BLE001 - live updates are best effort
            log.warning("live update for %s not published: %s", conversation_id, type(exc).__name__)
