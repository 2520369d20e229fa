"""The inbound edge, shared by every channel: persist (dedupe), record, enqueue. Nothing slow.

Channels verify and parse; then they call :meth:`Ingestor.accept`. Only after it returns may the
channel acknowledge (HTTP 2xx, SMTP 250, chat ack): the message is then durable in SQL and queued.
"""

from __future__ import annotations

import logging

from conversation import (
    ActorKind,
    Conversation,
    EventType,
    InboundMessage,
    IngestResult,
    Message,
    TimelineEvent,
    TurnRef,
    utcnow,
)
from services.container import Container

__all__ = ["Ingestor"]

log = logging.getLogger("glassdesk.ingest")

_ENQUEUED = "gd:enqueued:"  # marker: this inbound message is on the turn stream (ids only)
_ENQUEUED_TTL_S = 7 * 24 * 3600
_CLAIM_TTL_S = 60


class Ingestor:
    def __init__(self, services: Container) -> None:
        self._s = services

    async def accept(self, inbound: InboundMessage) -> IngestResult:
        occurred_at = utcnow()

        def received(message: Message, conversation: Conversation) -> TimelineEvent:
            return TimelineEvent(
                conversation_id=conversation.id,
                type=EventType.RECEIVED,
                actor=ActorKind.SYSTEM,
                causation_id=message.id,
                data={"channel": inbound.channel.value, "seq": message.seq},
                occurred_at=occurred_at,
            )

        # One write transaction: the message and its RECEIVED event, or nothing (a duplicate).
        result = await self._s.messages.ingest(inbound, event=received)
        if not result.created:
            # A provider retry. If our first attempt stored the message but failed to queue it (Redis
            # down after the SQL commit, answered 503), the retry is what queues it: never drop it.
            if await self._enqueue(result):
                log.info(
                    "duplicate %s message %s queued (first attempt did not)", inbound.channel.value, result.message.id
                )
            else:
                log.info("duplicate %s message %s ignored", inbound.channel.value, result.message.id)
            return result
        await self._enqueue(result)
        await self._s.bus.publish(
            result.conversation.id,
            {
                "event": EventType.RECEIVED.value,
                "actor": ActorKind.SYSTEM.value,
                "message_id": result.message.id,
                "at": occurred_at.isoformat(),
            },
        )
        log.info("accepted %s message %s", inbound.channel.value, result.message.id)
        return result

    async def _enqueue(self, result: IngestResult) -> bool:
        """Queue the turn once per message: concurrent deliveries race on SET NX and one wins. The
        claim is short-lived until XADD succeeded, so a failed attempt never blocks a later retry."""
        key = _ENQUEUED + result.message.id
        if not await self._s.redis.set(key, "pending", nx=True, ex=_CLAIM_TTL_S):
            return False
        try:
            await self._s.queue.enqueue(TurnRef(message_id=result.message.id, conversation_id=result.conversation.id))
        except Exception:
            await self._s.redis.delete(key)
            raise
        await self._s.redis.set(key, "queued", ex=_ENQUEUED_TTL_S)
        return True
