"""The message ledger: every accepted customer message, in exactly one final state.

Derived from the system of record (``conversation.sql.ledger``) and the dead-letter stream; nothing
is booked twice. After ``bound`` (2 minutes by default, ``GLASSDESK_LEDGER_BOUND_S``) a message must be

- **person**: its conversation is in a person's queue (handed off, a draft awaiting approval, or
  closed by a person), with the reason on the timeline;
- **replied**: otherwise, a reply went out after it in its conversation;
- **alarm**: a visible alarm on /ops (a failed or unsure send, a FAILED event, a dead-lettered turn).

Younger messages are **in progress**. Anything else is **unaccounted**: a message that fell through
the cracks. ``glassdesk ledger`` and the /ops tile show the counts and list the unaccounted ones.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from conversation import ConversationStatus
from conversation.sql import LedgerRow
from services.container import Container

__all__ = ["LedgerState", "Ledger", "LedgerEntry", "compute_ledger", "classify"]

_PERSON_STATES = frozenset(
    {ConversationStatus.HANDED_OFF, ConversationStatus.AWAITING_AGENT, ConversationStatus.CLOSED}
)


@enum.unique
class LedgerState(enum.StrEnum):
    REPLIED = "replied"
    PERSON = "person"
    ALARM = "alarm"
    IN_PROGRESS = "in_progress"
    UNACCOUNTED = "unaccounted"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    message_id: str
    conversation_id: str
    received_at: dt.datetime
    state: LedgerState


@dataclass
class Ledger:
    since: dt.datetime
    bound_s: float
    counts: dict[LedgerState, int] = field(default_factory=lambda: dict.fromkeys(LedgerState, 0))
    unaccounted: list[LedgerEntry] = field(default_factory=list)
    alarms: list[LedgerEntry] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(),
            "bound_s": self.bound_s,
            "counts": {k.value: v for k, v in self.counts.items()},
            "unaccounted": [
                {
                    "message_id": e.message_id,
                    "conversation_id": e.conversation_id,
                    "received_at": e.received_at.isoformat(),
                }
                for e in self.unaccounted
            ],
            "alarms": [{"message_id": e.message_id, "conversation_id": e.conversation_id} for e in self.alarms[:50]],
        }


def classify(row: LedgerRow, *, now: dt.datetime, bound_s: float, dead_lettered: frozenset[str]) -> LedgerState:
    if row.status in _PERSON_STATES:
        return LedgerState.PERSON  # a person has it (their queue shows why), whatever was sent so far
    if row.last_sent_seq is not None and row.last_sent_seq > row.seq:
        return LedgerState.REPLIED
    if (
        row.failed_event
        or row.message_id in dead_lettered
        or (row.last_failed_seq is not None and row.last_failed_seq > row.seq)
    ):
        return LedgerState.ALARM
    if now - row.received_at < dt.timedelta(seconds=bound_s):
        return LedgerState.IN_PROGRESS
    return LedgerState.UNACCOUNTED


async def compute_ledger(
    services: Container, *, since: dt.datetime, now: dt.datetime | None = None, bound_s: float | None = None
) -> Ledger:
    now = now or dt.datetime.now(dt.UTC)
    bound = services.settings.ledger_bound_s if bound_s is None else bound_s
    dead = frozenset(str(d.get("message_id")) for d in await services.queue.dead_letters(count=10_000))
    ledger = Ledger(since=since, bound_s=bound)
    for row in await services.ledger.rows(since=since):
        state = classify(row, now=now, bound_s=bound, dead_lettered=dead)
        ledger.counts[state] += 1
        entry = LedgerEntry(row.message_id, row.conversation_id, row.received_at, state)
        if state is LedgerState.UNACCOUNTED:
            ledger.unaccounted.append(entry)
        elif state is LedgerState.ALARM:
            ledger.alarms.append(entry)
    return ledger
