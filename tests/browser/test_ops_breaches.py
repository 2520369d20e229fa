"""/ops shows SLA breaches per queue in Debian's chromium: first-response, update (next response) and
resolution timers breached today, and those open and breached now, counted by the same business-time
timers as the inbox (``conversation.sla``), each timer on its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from conversation import AuthorKind, ChannelKind, ConversationStatus, Direction, Priority
from conversation.sla import SlaTargets
from services.settings import Settings
from services.sla import HandoffPlan, calendars, start_clock
from tests.browser.live_server import LiveServer, live_server
from tests.browser.test_desk_times import assert_clean, browser_page, log_in
from tests.integration.web.test_inbox_actions import ingest, sms_inbound
from tests.support.staff import create_staff, forget_login_attempts

TINY = 0.001  # business seconds: the timer is past its due by the time anything reads it
HOURS = 10 * 3600.0


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("ops-breaches")
    with live_server(
        lambda base: Settings(
            var_dir=var_dir, redis_url=redis_url, public_url=base, business_hours="mon-sun 00:00-24:00"
        )
    ) as s:
        create_staff(s, "ops1", "ops")
        forget_login_attempts(s)
        yield s


@pytest.fixture
def contexts() -> Iterator[list]:  # type: ignore[type-arg]
    made: list = []  # type: ignore[type-arg]
    yield made
    for context in made:
        context.close()


def _handed_off(server: LiveServer, number: str, *, queue: str, targets: SlaTargets) -> str:
    cid, _mid = ingest(server, sms_inbound("Wo bleibt meine Erstattung?", number))
    server.call(
        lambda s: s.messages.route_conversation(
            cid, ConversationStatus.HANDED_OFF, queue=queue, priority=Priority.NORMAL
        )
    )
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    plan = HandoffPlan(queue, Priority.NORMAL, calendars(server.settings).for_queue(queue), targets, at)
    server.call(lambda s: start_clock(s.db, cid, plan=plan, new_episode_since=None))
    return cid


def _agent_replies(server: LiveServer, cid: str) -> dt.datetime:
    msg = server.call(
        lambda s: s.messages.append_message(
            cid, "Wir prüfen das.", direction=Direction.OUTBOUND, author_kind=AuthorKind.AGENT, channel=ChannelKind.SMS
        )
    )
    return msg.created_at


def test_breaches_per_queue_today_and_open_now(server, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    queue = "refunds-breach"
    # 1: nobody answered: the first response is open and breached
    _handed_off(server, "+4915100001401", queue=queue, targets=SlaTargets(TINY, HOURS, HOURS))
    # 2: answered after its due: breached today, nothing open
    late = _handed_off(server, "+4915100001402", queue=queue, targets=SlaTargets(TINY, HOURS, HOURS))
    _agent_replies(server, late)
    # 3: answered in time, then the customer wrote again and the update is overdue
    number = "+4915100001403"
    waiting = _handed_off(server, number, queue=queue, targets=SlaTargets(HOURS, TINY, HOURS))
    replied_at = _agent_replies(server, waiting)
    follow_up = sms_inbound("Und?", number).model_copy(
        update={"conversation_id": waiting, "received_at": replied_at + dt.timedelta(milliseconds=1)}
    )
    ingest(server, follow_up)
    # 4: another queue, in time: no row for it
    _handed_off(server, "+4915100001404", queue="calm-queue", targets=SlaTargets(HOURS, HOURS, HOURS))

    ops = browser_page(chromium_browser, contexts)
    log_in(server, ops, "ops1", home="/ops")
    row = ops.page.locator("#sla-breaches tbody tr", has_text=queue)
    expect(row.locator("td")).to_have_text([queue, "2", "1", "0", "1", "1", "0"])
    expect(ops.page.locator("#sla-breaches tbody tr", has_text="calm-queue")).to_have_count(0)
    expect(ops.page.locator("#sla-breaches-heading")).to_have_text("SLA breaches per queue")
    assert_clean(ops)
