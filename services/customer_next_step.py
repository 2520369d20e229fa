"""What the customer's status page says comes next, and when it is expected.

    step = await next_step(services, conversation, language="de", fmt=fmt)
    step.text       # "Eine Person aus unserem Team antwortet Ihnen."
    step.expected   # "Voraussichtlich bis Mittwoch, 25.11.2026, 09:30 Uhr (CET)"

The next step follows the desk state and who is in charge: a person will answer (handed off, or a
snoozed conversation), a person checks a prepared answer (awaiting approval), we wait for the customer
(pending), solved (resolved or closed: "tell us if not"), or the assistant is on it / has answered.

When a person owes an answer, the time is the due of the SLA timer that counts now (first response,
next response or resolution, whichever falls due first; ``services.sla`` counts them in the queue's
business hours), shown in the operator's zone (``GLASSDESK_TIMEZONE``) the way the customer's language
writes dates. A due that has passed is never shown as a promise: the page says we are later than
planned. Outside business hours the page also says when the team is back.

Only what the customer may see: no queue names, no agent names, no internal notes, no targets."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from conversation import Conversation, ConversationStatus, Direction
from conversation.replies import opening_time
from conversation.sla import TimerState
from conversation.sql.desk import DeskQueries, DeskState
from conversation.sql.sla_store import SqlSlaClocks
from services.container import Container
from services.sla import calendars
from services.timefmt import TimeFormatter

__all__ = ["NextStep", "StepKind", "next_step", "step_language"]


@enum.unique
class StepKind(enum.StrEnum):
    PERSON_ANSWERS = "person_answers"
    PERSON_CHECKS = "person_checks"
    WAITING_FOR_YOU = "waiting_for_you"
    RESOLVED = "resolved"
    ASSISTANT_WORKING = "assistant_working"
    ASSISTANT_ANSWERED = "assistant_answered"


_TEXT: dict[str, dict[StepKind, str]] = {
    "en": {
        StepKind.PERSON_ANSWERS: "A person from our team will answer you.",
        StepKind.PERSON_CHECKS: "A person from our team checks the prepared answer and then sends it to you.",
        StepKind.WAITING_FOR_YOU: "We are waiting for your reply. Just answer our last message.",
        StepKind.RESOLVED: "Resolved. If it is not, tell us: just reply, and we pick it up again.",
        StepKind.ASSISTANT_WORKING: "Our assistant is working on your request.",
        StepKind.ASSISTANT_ANSWERED: "We have answered. If anything is still open, just reply.",
    },
    "de": {
        StepKind.PERSON_ANSWERS: "Eine Person aus unserem Team antwortet Ihnen.",
        StepKind.PERSON_CHECKS: "Eine Person aus unserem Team prüft die vorbereitete Antwort und sendet sie Ihnen dann.",
        StepKind.WAITING_FOR_YOU: "Wir warten auf Ihre Antwort. Antworten Sie einfach auf unsere letzte Nachricht.",
        StepKind.RESOLVED: "Gelöst. Falls nicht, sagen Sie es uns: Antworten Sie einfach, und wir kümmern uns weiter.",
        StepKind.ASSISTANT_WORKING: "Unser Assistent bearbeitet Ihre Anfrage.",
        StepKind.ASSISTANT_ANSWERED: "Wir haben geantwortet. Wenn noch etwas offen ist, antworten Sie einfach.",
    },
}
_EXPECTED = {"en": "Expected by {when}.", "de": "Voraussichtlich bis {when}."}
_LATE = {
    "en": "We are later than planned; a person answers as soon as possible.",
    "de": "Wir sind später dran als geplant; eine Person antwortet so bald wie möglich.",
}
_BACK = {"en": "Our team is back on {when}.", "de": "Unser Team ist ab {when} wieder für Sie da."}
_HEADING = {"en": "Next step", "de": "Nächster Schritt"}
_WAITS_ON_PERSON = frozenset({StepKind.PERSON_ANSWERS, StepKind.PERSON_CHECKS})


def step_language(language: str | None) -> str:
    code = (language or "en").split("-")[0].lower()
    return code if code in _TEXT else "en"


@dataclass(frozen=True, slots=True)
class NextStep:
    kind: StepKind
    heading: str
    text: str
    expected: str  # "" when no time is promised
    expected_at: dt.datetime | None  # the due behind ``expected`` (UTC), for <time datetime>
    late: bool = False
    back: str = ""  # outside business hours: when the team is back

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "heading": self.heading,
            "text": self.text,
            "expected": self.expected,
            "expected_at": self.expected_at.isoformat() if self.expected_at else None,
            "late": self.late,
            "back": self.back,
        }


def _kind(conv: Conversation, state: DeskState, *, last_inbound: bool) -> StepKind:
    if state in (DeskState.RESOLVED, DeskState.CLOSED) or conv.status is ConversationStatus.CLOSED:
        return StepKind.RESOLVED
    if state is DeskState.PENDING:
        return StepKind.WAITING_FOR_YOU
    if conv.status is ConversationStatus.AWAITING_AGENT:
        return StepKind.PERSON_CHECKS
    if conv.status is ConversationStatus.HANDED_OFF:
        return StepKind.PERSON_ANSWERS
    return StepKind.ASSISTANT_WORKING if last_inbound else StepKind.ASSISTANT_ANSWERED


async def _due(
    services: Container, conv: Conversation, *, fallback: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime | None, bool]:
    """The due of the timer that counts now, and whether one is past it."""
    timers = await SqlSlaClocks(services.db).timers(conv.id, now=now)
    if timers is None:  # no clock (routed before the clocks): the conversation's own due
        return fallback, fallback is not None and fallback <= now
    late = any(t.state is TimerState.BREACHED for t in timers)
    return timers.earliest_due, late


async def next_step(
    services: Container, conv: Conversation, *, language: str | None, fmt: TimeFormatter, now: dt.datetime | None = None
) -> NextStep:
    lang = step_language(language)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    row = await DeskQueries(services.db).row(conv.id, now=now)
    state = row.desk_state if row is not None else DeskState.OPEN
    messages = await services.messages.list_messages(conv.id)
    last_inbound = bool(messages) and messages[-1].direction is Direction.INBOUND
    kind = _kind(conv, state, last_inbound=last_inbound)
    expected, expected_at, late, back = "", None, False, ""
    if kind in _WAITS_ON_PERSON:
        due, late = await _due(services, conv, fallback=row.sla_due_at if row else None, now=now)
        if late:
            expected = _LATE[lang]
        elif due is not None:
            expected_at = due.astimezone(dt.UTC)
            expected = _EXPECTED[lang].format(when=opening_time(fmt.local(due), lang))
        calendar = calendars(services.settings).for_queue(row.queue if row else conv.queue)
        if not calendar.is_open(now):
            back = _BACK[lang].format(when=opening_time(fmt.local(calendar.next_open(now)), lang))
    return NextStep(kind, _HEADING[lang], _TEXT[lang][kind], expected, expected_at, late, back)
