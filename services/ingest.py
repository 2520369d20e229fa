"""The inbound edge, shared by every channel: persist (dedupe), record, enqueue. Nothing slow.

Channels verify and parse; then they call :meth:`Ingestor.accept`. Only after it returns may the
channel acknowledge (HTTP 2xx, SMTP 250, chat ack): the message is then durable in SQL and queued.

One Ingestor serves many concurrent deliveries (the SMS webhook keeps one per process). Their Redis
work is coalesced: deliveries whose SQL commit finished in the same batch (the message store
group-commits on SQLite) claim, queue and mark their turns and publish their RECEIVED live updates
together, in four pipelined round trips for the whole group instead of four per message. Each caller
still returns only after its own turn is on the stream and its update published, and sees the error
of its own message only.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field

from conversation import (
    ActorKind,
    Conversation,
    ConversationStatus,
    EventType,
    InboundMessage,
    IngestResult,
    Message,
    TimelineEvent,
    TurnRef,
    utcnow,
)
from services.container import Container
from services.sla import resume_reopened_clock

__all__ = ["Ingestor"]

log = logging.getLogger("glassdesk.ingest")

_ENQUEUED = "gd:enqueued:"  # marker: this inbound message is on the turn stream (ids only)
_ENQUEUED_TTL_S = 7 * 24 * 3600
_CLAIM_TTL_S = 60
_GROUP_MAX = 256  # turns per coalesced group of Redis round trips
_IN_HUMAN_HANDS = frozenset({ConversationStatus.HANDED_OFF, ConversationStatus.AWAITING_AGENT})


@dataclass(slots=True)
class _Claim:
    result: IngestResult
    live_update: dict[str, object] | None  # published once the turn is queued (new messages only)
    future: asyncio.Future[bool]


@dataclass(slots=True)
class _Pending:
    claims: list[_Claim] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class Ingestor:
    def __init__(self, services: Container) -> None:
        self._s = services
        self._pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending] = weakref.WeakKeyDictionary()

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
        live_update: dict[str, object] = {
            "event": EventType.RECEIVED.value,
            "actor": ActorKind.SYSTEM.value,
            "message_id": result.message.id,
            "at": occurred_at.isoformat(),
        }
        await self._enqueue(result, live_update=live_update)
        if result.conversation.status in _IN_HUMAN_HANDS:
            await self._resume_clock(result.conversation.id)
        log.info("accepted %s message %s", inbound.channel.value, result.message.id)
        return result

    async def _resume_clock(self, conversation_id: str) -> None:
        """A customer message reopened a pending or resolved conversation (the database trigger): its
        SLA falls due in business time from now. Best effort: the turn's first step refreshes the
        clock again, so a failure here only delays the due until then."""
        try:
            await resume_reopened_clock(self._s.db, conversation_id, settings=self._s.settings)
        except Exception as exc:  # noqa: BLE001 - the message is stored and queued; never fail the edge
            log.warning("SLA resume of %s deferred to the turn: %s", conversation_id, type(exc).__name__)

    async def _enqueue(self, result: IngestResult, *, live_update: dict[str, object] | None = None) -> bool:
        """Queue the turn once per message: concurrent deliveries race on SET NX and one wins (True).
        The claim is short-lived until XADD succeeded, so a failed attempt never blocks a later retry.
        Then ``live_update`` is published (whoever queued the turn). Waits for the group this call
        joins; raises what Redis answered for this message."""
        loop = asyncio.get_running_loop()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = _Pending()
        future: asyncio.Future[bool] = loop.create_future()
        pending.claims.append(_Claim(result, live_update, future))
        if pending.task is None:
            # Runs after the callers already woken in this loop iteration (e.g. one SQL batch) joined.
            pending.task = loop.create_task(self._drain(pending))
        return await future

    async def _drain(self, pending: _Pending) -> None:
        try:
            while pending.claims:
                group, pending.claims = pending.claims[:_GROUP_MAX], pending.claims[_GROUP_MAX:]
                try:
                    outcomes = await self._queue_group(group)
                except Exception as exc:  # noqa: BLE001 - every caller of the group sees the failure
                    outcomes = [exc] * len(group)
                for claim, outcome in zip(group, outcomes, strict=True):
                    if claim.future.done():  # the caller went away; its turn is queued all the same
                        continue
                    if isinstance(outcome, BaseException):
                        claim.future.set_exception(outcome)
                    else:
                        claim.future.set_result(outcome)
        finally:
            pending.task = None

    async def _queue_group(self, group: list[_Claim]) -> list[bool | Exception]:
        outcomes = await self._queue_turns([c.result for c in group])
        updates = [
            i for i, c in enumerate(group) if c.live_update is not None and not isinstance(outcomes[i], Exception)
        ]
        if updates:
            try:
                await self._s.bus.publish_many(
                    [(group[i].result.conversation.id, dict(group[i].live_update or {})) for i in updates]
                )
            except Exception as exc:  # noqa: BLE001 - handed to the callers whose update it was
                for i in updates:
                    outcomes[i] = exc
        return outcomes

    async def _queue_turns(self, results: list[IngestResult]) -> list[bool | Exception]:
        """Claim (SET NX, short TTL), XADD the winners, then mark them queued (or release the claim
        of one whose XADD failed): three round trips for the group, in that order."""
        redis = self._s.redis
        keys = [_ENQUEUED + r.message.id for r in results]
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(key, "pending", nx=True, ex=_CLAIM_TTL_S)
            claimed = await pipe.execute()
        winners = [i for i, won in enumerate(claimed) if won]
        outcomes: list[bool | Exception] = [False] * len(results)
        if not winners:
            return outcomes
        refs = [TurnRef(message_id=results[i].message.id, conversation_id=results[i].conversation.id) for i in winners]
        try:
            entries = await self._s.queue.enqueue_many(refs)
        except Exception:
            await self._release([keys[i] for i in winners])
            raise
        async with redis.pipeline(transaction=False) as pipe:
            for i, entry in zip(winners, entries, strict=True):
                if isinstance(entry, Exception):
                    pipe.delete(keys[i])
                else:
                    pipe.set(keys[i], "queued", ex=_ENQUEUED_TTL_S)
            await pipe.execute()
        for i, entry in zip(winners, entries, strict=True):
            outcomes[i] = entry if isinstance(entry, Exception) else True
        return outcomes

    async def _release(self, keys: list[str]) -> None:
        """Best effort after a failed XADD: drop the claims so a retry can queue (they expire anyway)."""
        try:
            await self._s.redis.delete(*keys)
        except Exception as exc:  # noqa: BLE001 - the claim's TTL releases it; the XADD error is what counts
            log.warning(
                "could not release %d turn claims (%s); they expire in %d s",
                len(keys),
                type(exc).__name__,
                _CLAIM_TTL_S,
            )
