"""The reconciler: no accepted message is dropped, no unsure send is repeated.

Runs inside ``glassdesk worker`` every ``reconcile_interval_s``:

1. **Lost turns.** A customer message is stored before it is queued. If the queue entry is lost
   (Redis restarted without its data, enqueue failed and the provider never retried) nothing would
   run its turn. Every message older than ``reconcile_turn_age_s`` with no decision record and no
   finishing event (sent / handed_off / awaiting_agent), whose conversation is still the
   automation's, is queued again. Safe to repeat: the turn's load step skips finished turns, the
   outbox never sends twice, and a Redis marker keeps one re-queue per message per age window.
   Dead-lettered turns stay dead-lettered (a person looks at them).
2. **Stuck sends.** An outbox entry still ``sending`` after ``reconcile_sending_stuck_min`` may or
   may not have reached the provider. It is never resent: it becomes ``ambiguous``, and an audit
   entry and a FAILED timeline event tell a person to check.

Several workers may run it at once: every action is conditional (SET NX, a guarded state change).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field

from conversation import ActorKind, EventType, TimelineEvent, TurnRef
from flows.bootstrap import Services

__all__ = ["Reconciler", "ReconcileReport"]

log = logging.getLogger("glassdesk.reconciler")

_REQUEUED = "gd:requeued:"  # marker: the reconciler queued this message again (ids only)
_BATCH = 100
_DEAD_LETTER_SCAN = 10_000
AMBIGUOUS_REASON = "send outcome unknown: the provider may have sent it; check before resending"


@dataclass
class ReconcileReport:
    requeued: list[str] = field(default_factory=list)  # inbound message ids
    ambiguous: list[str] = field(default_factory=list)  # outbox ids


class Reconciler:
    def __init__(self, services: Services) -> None:
        self._s = services

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile every ``reconcile_interval_s`` until ``stop`` is set. A failed pass is logged
        and retried on the next tick; it never stops the worker."""
        interval = self._s.settings.reconcile_interval_s
        while not stop.is_set():
            try:
                report = await self.run_once()
                if report.requeued or report.ambiguous:
                    log.warning("reconciler re-queued %d turn(s), flagged %d unsure send(s)",
                                len(report.requeued), len(report.ambiguous))
            except Exception as exc:  # noqa: BLE001 - e.g. Redis or the database briefly away
                log.error("reconciler pass failed: %s", type(exc).__name__)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    async def run_once(self, *, now: dt.datetime | None = None) -> ReconcileReport:
        now = now or dt.datetime.now(dt.UTC)
        report = ReconcileReport()
        report.requeued = await self._requeue_lost_turns(now)
        report.ambiguous = await self._flag_stuck_sends(now)
        return report

    # -- 1. lost turns ------------------------------------------------------------------------------
    async def _requeue_lost_turns(self, now: dt.datetime) -> list[str]:
        st = self._s.settings
        turns = await self._s.timeline.unfinished_turns(
            received_before=now - dt.timedelta(seconds=st.reconcile_turn_age_s),
            received_after=now - dt.timedelta(hours=st.reconcile_lookback_h),
            limit=_BATCH,
        )
        if not turns:
            return []
        dead = {d.get("message_id") for d in await self._s.queue.dead_letters(count=_DEAD_LETTER_SCAN)}
        ttl = max(1, int(st.reconcile_turn_age_s))
        requeued = []
        for turn in turns:
            if turn.message_id in dead:
                continue
            if not await self._s.redis.set(_REQUEUED + turn.message_id, "1", nx=True, ex=ttl):
                continue  # queued again recently (here or by another worker): give it time to run
            await self._s.queue.enqueue(TurnRef(message_id=turn.message_id, conversation_id=turn.conversation_id))
            log.warning("turn %s had no queue entry %ds after arrival: queued again", turn.message_id,
                        int((now - turn.received_at).total_seconds()))
            requeued.append(turn.message_id)
        return requeued

    # -- 2. stuck sends -----------------------------------------------------------------------------
    async def _flag_stuck_sends(self, now: dt.datetime) -> list[str]:
        s = self._s
        cutoff = now - dt.timedelta(minutes=s.settings.reconcile_sending_stuck_min)
        flagged = []
        for stuck in await s.outbox.stuck_sending(since_before=cutoff, limit=_BATCH):
            if not await s.outbox.give_up_sending(stuck.outbox_id, reason=AMBIGUOUS_REASON):
                continue  # settled meanwhile (a status callback) or flagged by another worker
            await s.audit.record(actor="system:reconciler", action="outbox.ambiguous", object_id=stuck.outbox_id,
                                 data={"message_id": stuck.message_id, "conversation_id": stuck.conversation_id,
                                       "channel": stuck.channel.value, "sending_since": stuck.since.isoformat()})
            event = TimelineEvent(conversation_id=stuck.conversation_id, type=EventType.FAILED, actor=ActorKind.SYSTEM,
                                  causation_id=stuck.causation_id,
                                  data={"message_id": stuck.message_id, "outbox_id": stuck.outbox_id,
                                        "reason": "delivery unconfirmed: a person checks before resending"})
            await s.timeline.add_event(event)
            await s.bus.publish(stuck.conversation_id, {"event": event.type.value, "actor": event.actor.value,
                                                        **event.data, "at": event.occurred_at.isoformat()})
            log.error("outbox %s stuck in sending since %s: marked ambiguous for a person", stuck.outbox_id,
                      stuck.since.isoformat())
            flagged.append(stuck.outbox_id)
        return flagged
