"""The inbound edge, shared by every channel: persist (dedupe), record, enqueue. Nothing slow.

Channels verify and parse; then they call :meth:`Ingestor.accept`. Only after it returns may the
channel acknowledge (HTTP 2xx, SMTP 250, chat ack): the message is then durable in SQL and queued.
"""

from __future__ import annotations

import logging

from conversation import ActorKind, EventType, IngestResult, InboundMessage, TimelineEvent, TurnRef
from flows.bootstrap import Services

__all__ = ["Ingestor"]

log = logging.getLogger("glassdesk.ingest")


class Ingestor:
    def __init__(self, services: Services) -> None:
        self._s = services

    async def accept(self, inbound: InboundMessage) -> IngestResult:
        result = await self._s.messages.ingest(inbound)
        if not result.created:
            log.info("duplicate %s message %s ignored", inbound.channel.value, result.message.id)
            return result
        event = TimelineEvent(
            conversation_id=result.conversation.id,
            type=EventType.RECEIVED,
            actor=ActorKind.SYSTEM,
            causation_id=result.message.id,
            data={"channel": inbound.channel.value, "seq": result.message.seq},
        )
        await self._s.timeline.add_event(event)
        await self._s.queue.enqueue(TurnRef(message_id=result.message.id, conversation_id=result.conversation.id))
        await self._s.bus.publish(
            result.conversation.id,
            {"event": event.type.value, "actor": event.actor.value, "message_id": result.message.id,
             "at": event.occurred_at.isoformat()},
        )
        log.info("accepted %s message %s", inbound.channel.value, result.message.id)
        return result
