"""When automation cannot finish a turn: the conversation goes to a person with a reason the agent
can read, and the customer is told a person takes over (with the status link)."""

from __future__ import annotations

import datetime as dt
import logging

from conversation import (
    ActorKind,
    AuthorKind,
    ConversationStatus,
    DeliveryError,
    EventType,
    NotFound,
    Priority,
    TimelineEvent,
)
from conversation.replies import handoff_notice
from conversation.sql.desk import ticket_label
from conversation.sql.desk_store import DeskStore
from services.container import Container
from services.outcomes import record_handoff
from services.sla import plan_handoff, start_clock

__all__ = ["ATTENTION_QUEUE", "escalate_failed_turn"]

log = logging.getLogger("glassdesk.escalation")

ATTENTION_QUEUE = "attention"  # "needs attention": turns the automation could not finish
_HUMAN_STATES = (ConversationStatus.HANDED_OFF, ConversationStatus.AWAITING_AGENT)


async def _received_at(services: Container, message_id: str) -> dt.datetime | None:
    try:
        return (await services.messages.get_message(message_id)).created_at
    except NotFound:
        return None


async def escalate_failed_turn(services: Container, *, message_id: str, conversation_id: str, reason: str) -> None:
    """Idempotent: a second call for the same message only re-sends nothing and re-routes nothing new."""
    try:
        conv = await services.messages.get_conversation(conversation_id)
    except NotFound:
        log.error("failed turn %s: conversation %s is gone", message_id, conversation_id)
        return
    plan = plan_handoff(services.settings, queue=ATTENTION_QUEUE, priority=Priority.HIGH)
    if not await services.timeline.has_event(causation_id=message_id, types=(EventType.HANDED_OFF,)):
        await services.messages.route_conversation(
            conversation_id,
            ConversationStatus.HANDED_OFF,
            queue=ATTENTION_QUEUE,
            priority=Priority.HIGH,
            sla_due_at=plan.first_response_due,
        )
        # a clock already running (a person had it) is kept; else this failed message starts one
        since = None if conv.status in _HUMAN_STATES else await _received_at(services, message_id)
        await start_clock(services.db, conversation_id, plan=plan, new_episode_since=since)
        event = TimelineEvent(
            conversation_id=conversation_id,
            type=EventType.HANDED_OFF,
            actor=ActorKind.SYSTEM,
            causation_id=message_id,
            data={
                "queue": ATTENTION_QUEUE,
                "priority": Priority.HIGH.value,
                "reason": f"automation failed: {reason}"[:200],
            },
        )
        await services.timeline.add_event(event)
        await record_handoff(
            services, conversation_id, f"automation failed: {reason}", causation_id=message_id, queue=ATTENTION_QUEUE
        )
        try:
            await services.bus.publish(
                conversation_id,
                {
                    "event": event.type.value,
                    "actor": event.actor.value,
                    **event.data,
                    "at": event.occurred_at.isoformat(),
                },
            )
        except Exception as exc:  # noqa: BLE001 - live updates are best effort
            log.warning("live update for %s not published: %s", conversation_id, type(exc).__name__)
    try:  # the outbox keeps it and retries it if the channel is down
        await services.deliverer.deliver(
            conversation_id,
            handoff_notice(
                conv.language,
                back_at=plan.back_at,
                ticket=ticket_label(await DeskStore(services.db).ticket_number(conversation_id)),
            ),
            author_kind=AuthorKind.SYSTEM,
            language=conv.language or "en",
            causation_id=message_id,
        )
    except DeliveryError as exc:
        log.warning("failed turn %s: acknowledgement not sent now (%s)", message_id, type(exc).__name__)
