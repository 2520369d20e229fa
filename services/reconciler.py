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
   may not have reached the provider. On a channel where a resend shows once (chat: one message per
   id) it goes back to ``pending`` and is sent again. Otherwise it is never resent: it becomes ``ambiguous``, an audit entry
   and a FAILED timeline event record it, and the conversation goes to a person's queue.
3. **Pending sends.** Every outbox entry left ``pending`` (the channel was down, a crash before the
   first attempt), whatever the message (AI reply, agent reply, handoff notice, acknowledgement), is
   retried with exponential backoff until it is sent or refused for good. After
   ``outbox_max_attempts`` it fails for good, and the conversation goes to a person's queue.

Several workers may run it at once: every action is conditional (SET NX, a guarded state change).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field

from conversation import ActorKind, EventType, OutboxState, TimelineEvent, TurnRef
from services.container import Container

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
    resent: list[str] = field(default_factory=list)  # outbox ids sent on a retry
    gave_up: list[str] = field(default_factory=list)  # outbox ids failed for good after retries


def retry_delay_s(attempts: int) -> float:
    """Backoff between outbox retries: 1, 2, 4 … seconds, at most a minute."""
    return float(min(60, 2 ** max(0, attempts - 1)))


class Reconciler:
    def __init__(self, services: Container) -> None:
        self._s = services

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile every ``reconcile_interval_s`` until ``stop`` is set. A failed pass is logged
        and retried on the next tick; it never stops the worker."""
        interval = self._s.settings.reconcile_interval_s
        while not stop.is_set():
            try:
                report = await self.run_once()
                if report.requeued or report.ambiguous or report.gave_up:
                    log.warning(
                        "reconciler re-queued %d turn(s), flagged %d unsure send(s), gave up %d send(s)",
                        len(report.requeued),
                        len(report.ambiguous),
                        len(report.gave_up),
                    )
                if report.resent:
                    log.info("reconciler sent %d queued message(s)", len(report.resent))
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
        report.resent, report.gave_up = await self._retry_pending_sends(now)
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
            log.warning(
                "turn %s had no queue entry %ds after arrival: queued again",
                turn.message_id,
                int((now - turn.received_at).total_seconds()),
            )
            requeued.append(turn.message_id)
        return requeued

    # -- 2. stuck sends -----------------------------------------------------------------------------
    async def _flag_stuck_sends(self, now: dt.datetime) -> list[str]:
        s = self._s
        cutoff = now - dt.timedelta(minutes=s.settings.reconcile_sending_stuck_min)
        flagged = []
        for stuck in await s.outbox.stuck_sending(since_before=cutoff, limit=_BATCH):
            sender = s.senders.get(stuck.channel)
            if sender is not None and sender.resend_is_harmless:
                # chat: the widget and the history show one message per id, so a send cut off
                # mid-way (its worker died) is sent again rather than checked by a person
                await s.outbox.release(stuck.outbox_id)
                log.warning(
                    "outbox %s stuck in sending since %s: %s shows a resend once, queued again",
                    stuck.outbox_id,
                    stuck.since.isoformat(),
                    stuck.channel.value,
                )
                continue
            if not await s.outbox.give_up_sending(stuck.outbox_id, reason=AMBIGUOUS_REASON):
                continue  # settled meanwhile (a status callback) or flagged by another worker
            await s.audit.record(
                actor="system:reconciler",
                action="outbox.ambiguous",
                object_id=stuck.outbox_id,
                data={
                    "message_id": stuck.message_id,
                    "conversation_id": stuck.conversation_id,
                    "channel": stuck.channel.value,
                    "sending_since": stuck.since.isoformat(),
                },
            )
            event = TimelineEvent(
                conversation_id=stuck.conversation_id,
                type=EventType.FAILED,
                actor=ActorKind.SYSTEM,
                causation_id=stuck.causation_id,
                data={
                    "message_id": stuck.message_id,
                    "outbox_id": stuck.outbox_id,
                    "reason": "delivery unconfirmed: a person checks before resending",
                },
            )
            await s.timeline.add_event(event)
            await s.bus.publish(
                stuck.conversation_id,
                {
                    "event": event.type.value,
                    "actor": event.actor.value,
                    **event.data,
                    "at": event.occurred_at.isoformat(),
                },
            )
            log.error(
                "outbox %s stuck in sending since %s: marked ambiguous for a person",
                stuck.outbox_id,
                stuck.since.isoformat(),
            )
            await self._to_person(
                stuck.conversation_id,
                stuck.causation_id or stuck.message_id,
                reason="a reply may not have reached the customer; check with the provider",
            )
            flagged.append(stuck.outbox_id)
        return flagged

    # -- 3. pending sends ---------------------------------------------------------------------------
    async def _retry_pending_sends(self, now: dt.datetime) -> tuple[list[str], list[str]]:
        s = self._s
        resent: list[str] = []
        gave_up: list[str] = []
        for entry in await s.outbox.pending(changed_before=now - dt.timedelta(seconds=1), limit=_BATCH):
            if now - entry.since < dt.timedelta(seconds=retry_delay_s(entry.attempts)):
                continue  # backing off
            if entry.attempts >= s.settings.outbox_max_attempts:
                if await s.deliverer.give_up(entry.outbox_id, reason=f"not delivered after {entry.attempts} attempts"):
                    gave_up.append(entry.outbox_id)
                    await self._to_person(
                        entry.conversation_id,
                        entry.causation_id or entry.message_id,
                        reason="a reply could not be delivered after repeated attempts",
                    )
                continue
            state = await s.deliverer.retry(entry.outbox_id)
            if state is OutboxState.SENT:
                resent.append(entry.outbox_id)
            elif state is OutboxState.FAILED:
                gave_up.append(entry.outbox_id)
                await self._to_person(
                    entry.conversation_id, entry.causation_id or entry.message_id, reason="the channel refused a reply"
                )
        return resent, gave_up

    async def _to_person(self, conversation_id: str, causation_id: str, *, reason: str) -> None:
        from services.escalation import escalate_failed_turn

        await escalate_failed_turn(self._s, message_id=causation_id, conversation_id=conversation_id, reason=reason)
