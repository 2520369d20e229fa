"""The status page's next step at a chosen time (``services.customer_next_step``), against real SQLite
and Redis: a pending conversation that the customer reopens at 21:00 Berlin on a weekday (hours 9-17)
is expected at 09:30 next morning, with the team's return named; resolved says so and promises no
time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from conversation import ChannelKind, ConversationStatus, InboundMessage, PhoneAddress, Priority
from conversation.sql.desk import DeskState
from conversation.sql.desk_store import DeskStore
from runtime.compose import open_container
from services.customer_next_step import StepKind, next_step
from services.settings import Settings
from services.sla import plan_handoff, resume_reopened_clock, start_clock
from services.timefmt import TimeFormatter

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = dt.date(2026, 11, 24)


def _at(hour: int, minute: int = 0, *, day: dt.date = TUESDAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BERLIN).astimezone(dt.UTC)


def _sms(number: str, text: str, *, at: dt.datetime, n: int, cid: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel=ChannelKind.SMS, external_id=f"SM{number}-{n}", address=PhoneAddress(number=number), text=text,
        conversation_id=cid, received_at=at,
    )  # fmt: skip


async def test_reopened_at_night_is_expected_next_morning(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(var_dir=tmp_path, redis_url=redis_url, business_hours="09:00-17:00")
    fmt = TimeFormatter.for_zone(settings.timezone)
    async with open_container(settings) as services:
        number = "+4915100001501"
        first = await services.messages.ingest(_sms(number, "Schaden an Paket", at=_at(15, 59), n=1))
        cid = first.conversation.id
        await services.messages.route_conversation(
            cid, ConversationStatus.HANDED_OFF, queue="claims", priority=Priority.NORMAL, language="de"
        )
        plan = plan_handoff(settings, queue="claims", priority=Priority.NORMAL, sla_minutes=60, now=_at(16))
        await start_clock(services.db, cid, plan=plan, new_episode_since=None)
        conv = await services.messages.get_conversation(cid)

        step = await next_step(services, conv, language="de", fmt=fmt, now=_at(16, 10))
        assert step.kind is StepKind.PERSON_ANSWERS
        assert step.expected == "Voraussichtlich bis Dienstag, 24.11.2026, 17:00 Uhr (CET)."
        assert step.back == ""  # open at 16:10

        await DeskStore(services.db).set_state(cid, DeskState.PENDING, now=_at(16, 30))
        step = await next_step(services, conv, language="de", fmt=fmt, now=_at(16, 31))
        assert step.kind is StepKind.WAITING_FOR_YOU and step.expected == "" and step.expected_at is None

        # the customer answers at 21:00: reopened, and the 30 business minutes left count from 09:00
        await services.messages.ingest(_sms(number, "Hier das Foto", at=_at(21), n=2, cid=cid))
        assert await resume_reopened_clock(services.db, cid, settings=settings, now=_at(21))
        step = await next_step(services, conv, language="en", fmt=fmt, now=_at(21, 1))
        wednesday = TUESDAY + dt.timedelta(days=1)
        assert step.kind is StepKind.PERSON_ANSWERS
        assert step.expected_at == _at(9, 30, day=wednesday)
        assert step.expected == "Expected by Wednesday, 25 November 2026 at 09:30 CET."
        assert step.back == "Our team is back on Wednesday, 25 November 2026 at 09:00 CET."
        assert "claims" not in " ".join((step.text, step.expected, step.back))

        await DeskStore(services.db).set_state(cid, DeskState.RESOLVED, now=_at(10, day=wednesday))
        step = await next_step(services, conv, language="de", fmt=fmt, now=_at(10, 1, day=wednesday))
        assert step.kind is StepKind.RESOLVED and step.expected == "" and step.back == ""
        assert step.text.startswith("Gelöst.")
