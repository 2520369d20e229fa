"""Three independent SLA timers of a conversation in a person's hands, computed from what happened.

- **first response**: from the handoff until the first human reply;
- **next response** (the update timer): from a customer message after the first response until the
  next human reply, once per such wait;
- **resolution**: from the handoff until the conversation is resolved.

Each timer is computed on its own from the same list of facts (:class:`SlaFact`), with its own target
in business seconds of one :class:`~conversation.calendar.BusinessCalendar`. Nothing one timer does
writes into another: a customer's follow-up before the first reply leaves the first-response due where
it was, and a next-response wait never moves the first-response or resolution due (the Zammad bug where
an update escalation overwrote the first-response one cannot happen by construction). All three count
only business time and stand still while the desk state is pending or resolved (waiting on the
customer, or solved). Pure: no I/O, no clock."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from conversation.calendar import BusinessCalendar

__all__ = ["FactKind", "SlaFact", "SlaTargets", "SlaTimers", "Timer", "TimerKind", "TimerState", "compute_timers"]


@enum.unique
class TimerKind(enum.StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


@enum.unique
class TimerState(enum.StrEnum):
    NOT_STARTED = "not_started"
    RUNNING = "running"  # counting; ``due_at`` is when it falls due
    PAUSED = "paused"  # pending or resolved: standing still with ``remaining_s`` left
    BREACHED = "breached"  # running past its due
    MET = "met"  # stopped in time
    MISSED = "missed"  # stopped, but after its due


@enum.unique
class FactKind(enum.StrEnum):
    CUSTOMER_MESSAGE = "customer_message"  # also reopens a pending or resolved conversation
    HUMAN_REPLY = "human_reply"  # an agent's reply, or an AI draft a person approved
    OPEN = "open"  # desk states, as the agent desk sets them
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"
    CLOSED = "closed"


_PAUSING = frozenset({FactKind.PENDING, FactKind.RESOLVED, FactKind.CLOSED})
_STATES = frozenset({FactKind.OPEN, FactKind.PENDING, FactKind.SNOOZED, FactKind.RESOLVED, FactKind.CLOSED})


@dataclass(frozen=True, slots=True)
class SlaFact:
    at: dt.datetime
    kind: FactKind


@dataclass(frozen=True, slots=True)
class SlaTargets:
    """Business seconds each timer may run."""

    first_response_s: float
    next_response_s: float
    resolution_s: float

    def of(self, kind: TimerKind) -> float:
        return {
            TimerKind.FIRST_RESPONSE: self.first_response_s,
            TimerKind.NEXT_RESPONSE: self.next_response_s,
            TimerKind.RESOLUTION: self.resolution_s,
        }[kind]


@dataclass(frozen=True, slots=True)
class Timer:
    kind: TimerKind
    state: TimerState
    target_s: float
    started_at: dt.datetime | None = None
    due_at: dt.datetime | None = None  # running: when it falls (fell) due; paused: None
    stopped_at: dt.datetime | None = None
    used_s: float = 0.0  # business seconds counted so far (up to the stop or ``now``)
    remaining_s: float | None = None  # business seconds left (paused or running)
    breaches: int = 0  # next response: waits that went past their due, this one included

    @property
    def running(self) -> bool:
        return self.state in (TimerState.RUNNING, TimerState.BREACHED)


@dataclass(frozen=True, slots=True)
class SlaTimers:
    first_response: Timer
    next_response: Timer
    resolution: Timer

    def __iter__(self) -> Iterator[Timer]:
        return iter((self.first_response, self.next_response, self.resolution))

    @property
    def next_due(self) -> Timer | None:
        """The counting timer that falls due first (the inbox can name it: "first response due …")."""
        running = [t for t in self if t.running and t.due_at is not None]
        return min(running, key=lambda t: t.due_at or dt.datetime.max.replace(tzinfo=dt.UTC)) if running else None

    @property
    def earliest_due(self) -> dt.datetime | None:
        """The earliest due of the timers that are counting (what ``conversations.sla_due_at`` holds)."""
        timer = self.next_due
        return timer.due_at if timer is not None else None

    @property
    def paused_remaining_s(self) -> float | None:
        """When nothing counts but a timer stands paused: its business seconds left (the least)."""
        if any(t.running for t in self):
            return None
        left = [t.remaining_s for t in self if t.state is TimerState.PAUSED and t.remaining_s is not None]
        return min(left) if left else None


def _paused_spans(facts: Sequence[SlaFact], since: dt.datetime) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """When the desk state stopped the clocks: from a pending/resolved/closed state until the next
    open state, or the next customer message (the database reopens the conversation on one; a closed
    conversation stays closed: the customer's next message starts a new one)."""
    spans: list[tuple[dt.datetime, dt.datetime | None]] = []
    paused_from: dt.datetime | None = None
    closed = False
    for f in facts:
        if f.at < since:
            continue
        if f.kind in _PAUSING:
            paused_from = f.at if paused_from is None else paused_from
            closed = f.kind is FactKind.CLOSED
        elif paused_from is not None and (f.kind in _STATES or (f.kind is FactKind.CUSTOMER_MESSAGE and not closed)):
            spans.append((paused_from, f.at))
            paused_from = None
    if paused_from is not None:
        spans.append((paused_from, None))
    return spans


def _active(
    start: dt.datetime, stop: dt.datetime | None, now: dt.datetime, paused: list[tuple[dt.datetime, dt.datetime | None]]
) -> tuple[list[tuple[dt.datetime, dt.datetime]], bool]:
    """The spans of [start, stop or now) outside the paused spans, and whether the timer is paused now."""
    end = min(stop, now) if stop is not None else now
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    cursor = start
    paused_now = False
    for p_start, p_end in paused:
        if p_end is not None and p_end <= cursor:
            continue
        if p_start > end:
            break
        if p_start > cursor:
            spans.append((cursor, min(p_start, end)))
        if p_end is None or p_end >= end:
            paused_now = stop is None and p_end is None  # a pause that ended at ``now`` is over
            cursor = end
            break
        cursor = max(cursor, p_end)
    if cursor < end:
        spans.append((cursor, end))
    return spans, paused_now


def _timer(
    kind: TimerKind,
    cal: BusinessCalendar,
    target_s: float,
    *,
    start: dt.datetime,
    stop: dt.datetime | None,
    now: dt.datetime,
    paused: list[tuple[dt.datetime, dt.datetime | None]],
    breaches_before: int = 0,
) -> Timer:
    spans, paused_now = _active(start, stop, now, paused)
    used = 0.0
    due: dt.datetime | None = None
    for a, b in spans:
        part = cal.elapsed(a, b)
        if due is None and used + part >= target_s:
            due = cal.add(a, target_s - used)
        used += part
    late = due is not None and (stop is None or due < stop)
    if stop is not None:
        state = TimerState.MISSED if late else TimerState.MET
        return Timer(kind, state, target_s, start, due, stop, used, None, breaches_before + int(late))
    if paused_now:
        return Timer(kind, TimerState.PAUSED, target_s, start, None, None, used, max(0.0, target_s - used),
                     breaches_before + int(late))  # fmt: skip
    if due is None:  # still ahead: everything up to ``now`` is counted; count on from there
        due = cal.add(max(now, start), target_s - used)
    breached = due <= now
    return Timer(
        kind,
        TimerState.BREACHED if breached else TimerState.RUNNING,
        target_s,
        start,
        due,
        None,
        used,
        max(0.0, target_s - used),
        breaches_before + int(breached),
    )


def compute_timers(
    cal: BusinessCalendar,
    targets: SlaTargets,
    *,
    handed_off_at: dt.datetime,
    facts: Iterable[SlaFact],
    now: dt.datetime,
) -> SlaTimers:
    """The three timers at ``now`` for a conversation handed to a person at ``handed_off_at``. Facts
    before the handoff and after ``now`` are ignored."""
    handed_off_at, now = handed_off_at.astimezone(dt.UTC), now.astimezone(dt.UTC)
    ordered = sorted((f for f in facts if handed_off_at <= f.at <= now), key=lambda f: f.at)
    paused = _paused_spans(ordered, handed_off_at)
    replies = [f.at for f in ordered if f.kind is FactKind.HUMAN_REPLY]

    first_stop = replies[0] if replies else None
    first = _timer(
        TimerKind.FIRST_RESPONSE, cal, targets.first_response_s, start=handed_off_at, stop=first_stop, now=now,
        paused=paused,
    )  # fmt: skip

    next_timer = Timer(TimerKind.NEXT_RESPONSE, TimerState.NOT_STARTED, targets.next_response_s)
    if first_stop is not None:
        breaches = 0
        wait_from: dt.datetime | None = None
        for f in ordered:
            if f.at <= first_stop:
                continue
            if f.kind is FactKind.CUSTOMER_MESSAGE and wait_from is None:
                wait_from = f.at  # later messages in the same wait do not restart it
            elif f.kind is FactKind.HUMAN_REPLY and wait_from is not None:
                done = _timer(TimerKind.NEXT_RESPONSE, cal, targets.next_response_s, start=wait_from, stop=f.at,
                              now=now, paused=paused, breaches_before=breaches)  # fmt: skip
                breaches, next_timer, wait_from = done.breaches, done, None
        if wait_from is not None:
            next_timer = _timer(TimerKind.NEXT_RESPONSE, cal, targets.next_response_s, start=wait_from, stop=None,
                                now=now, paused=paused, breaches_before=breaches)  # fmt: skip

    states = [f for f in ordered if f.kind in _STATES]
    resolved_at = None
    if states and states[-1].kind in (FactKind.RESOLVED, FactKind.CLOSED):
        reopened = any(f.kind is FactKind.CUSTOMER_MESSAGE and f.at > states[-1].at for f in ordered)
        if states[-1].kind is FactKind.CLOSED or not reopened:
            resolved_at = states[-1].at
    resolution = _timer(
        TimerKind.RESOLUTION, cal, targets.resolution_s, start=handed_off_at, stop=resolved_at, now=now,
        paused=[p for p in paused if resolved_at is None or p[0] < resolved_at],
    )  # fmt: skip
    return SlaTimers(first, next_timer, resolution)
