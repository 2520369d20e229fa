"""The three SLA timers (conversation.sla): independent of each other, business time only, paused
while pending. The Zammad bug (an update/escalation timer overwrote the first-response one) is the
first test here, then properties over random histories."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from conversation.calendar import BusinessCalendar, parse_week
from conversation.sla import FactKind, SlaFact, SlaTargets, TimerState, compute_timers

BERLIN = ZoneInfo("Europe/Berlin")
H = 3600.0
CAL = BusinessCalendar("office", BERLIN, parse_week("08:00-18:00"))
TARGETS = SlaTargets(first_response_s=4 * H, next_response_s=2 * H, resolution_s=24 * H)
MONDAY_9 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)


def at(hours: float) -> dt.datetime:
    return MONDAY_9 + dt.timedelta(hours=hours)


def fact(hours: float, kind: FactKind) -> SlaFact:
    return SlaFact(at(hours), kind)


def timers(facts: list[SlaFact], now_h: float):  # type: ignore[no-untyped-def]
    return compute_timers(CAL, TARGETS, handed_off_at=MONDAY_9, facts=facts, now=at(now_h))


def test_a_follow_up_before_the_first_reply_never_moves_the_first_response_due() -> None:
    """Zammad's bug: a customer's update started the update timer and overwrote the first-response
    escalation. Here the first-response due stays 13:00 whatever the customer writes meanwhile."""
    quiet = timers([], now_h=1)
    chased = timers([fact(0.5, FactKind.CUSTOMER_MESSAGE), fact(1, FactKind.CUSTOMER_MESSAGE)], now_h=1)
    assert quiet.first_response.due_at == chased.first_response.due_at == at(4)
    assert chased.first_response.state is TimerState.RUNNING
    assert chased.next_response.state is TimerState.NOT_STARTED  # no update timer before a first reply
    assert chased.resolution == quiet.resolution
    assert chased.earliest_due == at(4)


def test_each_timer_stops_on_its_own_event() -> None:
    facts = [
        fact(2, FactKind.HUMAN_REPLY),  # 11:00 first response, in time
        fact(3, FactKind.CUSTOMER_MESSAGE),  # 12:00 the customer answers: next response due 14:00
        fact(3.5, FactKind.CUSTOMER_MESSAGE),  # a second message joins the same wait
    ]
    t = timers(facts, now_h=4)
    assert t.first_response.state is TimerState.MET and t.first_response.stopped_at == at(2)
    assert t.first_response.due_at is None  # it never reached its target
    assert t.next_response.state is TimerState.RUNNING and t.next_response.due_at == at(5)
    assert t.resolution.state is TimerState.RUNNING and t.resolution.due_at == dt.datetime(
        2026, 12, 9, 13, 0, tzinfo=BERLIN
    )  # Monday 9-18 (9 h), Tuesday (10 h), Wednesday 8-13 (5 h)
    assert t.earliest_due == at(5) and t.next_due is t.next_response
    # the next reply stops the next-response timer; the first response stays as it was
    later = timers([*facts, fact(4.5, FactKind.HUMAN_REPLY)], now_h=5)
    assert later.next_response.state is TimerState.MET and later.first_response == t.first_response
    assert later.earliest_due == t.resolution.due_at


def test_a_late_first_reply_is_missed_and_counted_once() -> None:
    t = timers([fact(6, FactKind.HUMAN_REPLY)], now_h=7)  # 15:00, due was 13:00
    assert t.first_response.state is TimerState.MISSED and t.first_response.due_at == at(4)
    assert t.first_response.breaches == 1
    running_late = timers([], now_h=5)
    assert running_late.first_response.state is TimerState.BREACHED


def test_next_response_counts_each_late_wait() -> None:
    facts = [
        fact(0.5, FactKind.HUMAN_REPLY),
        fact(1, FactKind.CUSTOMER_MESSAGE),  # due 12:00, answered 13:00: late
        fact(4, FactKind.HUMAN_REPLY),
        fact(5, FactKind.CUSTOMER_MESSAGE),  # due 16:00, answered 15:00: in time
        fact(6, FactKind.HUMAN_REPLY),
        fact(8.5, FactKind.CUSTOMER_MESSAGE),  # 17:30: half an hour today, due Tuesday 09:30
    ]
    t = timers(facts, now_h=8.75)
    assert t.next_response.state is TimerState.RUNNING and t.next_response.breaches == 1
    assert t.next_response.due_at == dt.datetime(2026, 12, 8, 9, 30, tzinfo=BERLIN)


def test_pending_pauses_and_a_customer_message_resumes() -> None:
    facts = [
        fact(1, FactKind.HUMAN_REPLY),  # 10:00
        fact(1, FactKind.PENDING),  # waiting on the customer from 10:00 ...
        fact(5, FactKind.CUSTOMER_MESSAGE),  # ... until 14:00 (the database reopens it)
    ]
    paused = timers(facts[:2], now_h=3)
    assert paused.resolution.state is TimerState.PAUSED and paused.resolution.remaining_s == 23 * H
    assert paused.earliest_due is None and paused.paused_remaining_s == 23 * H
    resumed = timers(facts, now_h=6)
    # 1 h used before the pause, the other 23 h from 14:00: Monday 4 h, Tuesday 10 h, Wednesday 9 h -> 17:00
    assert resumed.resolution.due_at == dt.datetime(2026, 12, 9, 17, 0, tzinfo=BERLIN)
    assert resumed.next_response.due_at == at(7)


def test_resolved_stops_resolution_and_a_reply_reopens_it() -> None:
    facts = [fact(1, FactKind.HUMAN_REPLY), fact(2, FactKind.RESOLVED)]
    done = timers(facts, now_h=3)
    assert done.resolution.state is TimerState.MET and done.resolution.stopped_at == at(2)
    assert done.earliest_due is None
    again = timers([*facts, fact(4, FactKind.CUSTOMER_MESSAGE)], now_h=4)
    assert again.resolution.state is TimerState.RUNNING and again.resolution.used_s == 2 * H
    closed = timers([*facts[:1], fact(2, FactKind.CLOSED), fact(4, FactKind.CUSTOMER_MESSAGE)], now_h=5)
    assert closed.resolution.state is TimerState.MET  # a closed one is not reopened by a message


def test_a_friday_evening_handoff_is_due_on_monday_within_hours() -> None:
    friday = dt.datetime(2026, 12, 4, 19, 0, tzinfo=BERLIN)
    t = compute_timers(CAL, TARGETS, handed_off_at=friday, facts=[], now=friday + dt.timedelta(hours=1))
    assert t.first_response.due_at == dt.datetime(2026, 12, 7, 12, 0, tzinfo=BERLIN)
    assert t.first_response.used_s == 0  # the weekend does not count


# -- properties -----------------------------------------------------------------------------------
kinds = st.sampled_from(list(FactKind))
histories = st.lists(st.tuples(st.floats(0, 120), kinds), max_size=14)
_SETTINGS = settings(max_examples=80, deadline=None)


def _facts(raw: list[tuple[float, FactKind]]) -> list[SlaFact]:
    return [fact(round(h, 2), k) for h, k in raw]


@_SETTINGS
@given(histories, st.lists(st.floats(0, 120), max_size=6), st.floats(0, 150))
def test_customer_messages_never_move_the_first_response_or_resolution_without_state_changes(
    raw: list[tuple[float, FactKind]], extra: list[float], now_h: float
) -> None:
    base = [f for f in _facts(raw) if f.kind in (FactKind.HUMAN_REPLY, FactKind.CUSTOMER_MESSAGE)]
    more = base + [fact(round(h, 2), FactKind.CUSTOMER_MESSAGE) for h in extra]
    a, b = timers(base, now_h), timers(more, now_h)
    assert a.first_response == b.first_response
    assert a.resolution == b.resolution


@_SETTINGS
@given(histories, st.floats(0, 150))
def test_the_first_response_depends_only_on_what_happens_until_the_first_reply(
    raw: list[tuple[float, FactKind]], now_h: float
) -> None:
    facts = sorted(_facts(raw), key=lambda f: f.at)
    replies = [f for f in facts if f.kind is FactKind.HUMAN_REPLY]
    cut = replies[0].at if replies else None
    prefix = [f for f in facts if cut is None or f.at <= cut]
    assert timers(facts, now_h).first_response == timers(prefix, now_h).first_response


@_SETTINGS
@given(histories, st.floats(0, 150))
def test_timers_are_consistent(raw: list[tuple[float, FactKind]], now_h: float) -> None:
    t = timers(_facts(raw), now_h)
    for timer in t:
        assert timer.used_s >= 0
        assert timer.used_s <= CAL.elapsed(MONDAY_9, at(now_h)) + 1e-6
        if timer.state is TimerState.RUNNING:
            assert timer.due_at is not None and timer.due_at > at(now_h)
        if timer.state is TimerState.BREACHED:
            assert timer.due_at is not None and timer.due_at <= at(now_h)
        if timer.state is TimerState.PAUSED:
            assert timer.due_at is None and timer.remaining_s is not None
    dues = [x.due_at for x in t if x.running and x.due_at is not None]
    assert t.earliest_due == (min(dues) if dues else None)


def test_timer_rows_show_each_timer_in_the_operators_zone() -> None:
    from services.sla import timer_rows
    from services.timefmt import TimeFormatter

    facts = [fact(2, FactKind.HUMAN_REPLY), fact(3, FactKind.CUSTOMER_MESSAGE), fact(3.5, FactKind.PENDING)]
    rows = timer_rows(timers(facts, now_h=4), TimeFormatter.for_zone("Europe/Berlin"))
    assert [(r["label"], r["state_text"]) for r in rows] == [
        ("First response", "met"),
        ("Next response", "paused"),
        ("Resolution", "paused"),
    ]
    assert rows[0]["text"] == "2026-12-07 11:00 CET"  # when it was met
    assert rows[1]["text"] == "1 h 30 min of business time left"
    running = timer_rows(timers([], now_h=1), TimeFormatter.for_zone("Europe/Berlin"))
    assert running[0]["state"] == "running" and running[0]["text"] == "2026-12-07 13:00 CET"
    assert running[1]["state_text"] == "not started" and running[1]["text"] == ""
