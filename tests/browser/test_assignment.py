"""Auto-assignment in Debian's chromium: agent1 sets herself away, agent2 is online without the skill,
an admin gives agent1 the skill "german" and makes the queue need it and auto-assign; the waiting
conversation stays unassigned; agent1 goes online again and her list shows it assigned to her, with
her presence, live. Agents cannot open the admin page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from conversation import ConversationStatus, PhoneAddress
from tests.browser.live_server import LiveServer
from tests.browser.test_desk_times import assert_clean, browser_page, log_in, with_person
from tests.integration.web.test_inbox_actions import RecordingRelay, desk_stack, wait_for
from tests.support.staff import create_staff
from tests.support.twilio_api import LocalTwilioApi

QUEUE = "people-de"


def _serve_people_routes(server: LiveServer) -> None:
    """``web.desk_people``'s router, until web/app.py includes it (then this does nothing)."""
    from web import desk_people

    app = server._app
    if not any(getattr(r, "path", "") == "/admin/people" for r in app.routes):
        app.include_router(desk_people.router)


@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("desk-assignment")) as s:
        create_staff(s[0], "agent2", "agent")
        _serve_people_routes(s[0])
        yield s


@pytest.fixture
def contexts() -> Iterator[list]:  # type: ignore[type-arg]
    made: list = []  # type: ignore[type-arg]
    yield made
    for context in made:
        context.close()


def _sms(text: str):  # type: ignore[no-untyped-def]
    import uuid

    from conversation import ChannelKind, InboundMessage

    return InboundMessage(
        channel=ChannelKind.SMS,
        external_id="SM" + uuid.uuid4().hex,
        address=PhoneAddress(number="+4915112345678"),
        text=text,
        display_name="Anna Schmidt",
    )


def test_presence_queue_skills_and_the_auto_assigned_agent_in_the_list(stack, chromium_browser, contexts) -> None:  # type: ignore[no-untyped-def]
    server = stack[0]
    cid, _ = with_person(server, _sms("Mein Wasserschaden 4711: wann kommt der Gutachter?"), queue=QUEUE)

    # agent1 opens her inbox (online by her heartbeat) and sets herself away
    one = browser_page(chromium_browser, contexts)
    log_in(server, one, "agent1")
    page1 = one.page
    expect(page1.locator("#presence-state")).to_have_text("Online")
    page1.get_by_role("button", name="Set away").click()
    expect(page1.locator("#presence-state")).to_have_text("Away")
    expect(page1.get_by_role("button", name="Go online")).to_be_visible()

    # agent2 is online, without the skill
    two = browser_page(chromium_browser, contexts)
    log_in(server, two, "agent2")
    expect(two.page.locator("#presence-state")).to_have_text("Online")
    two.page.goto(server.base_url + "/admin/people")
    expect(two.page.locator("body")).to_contain_text("Not Found")  # agents: like a missing page

    # the admin gives agent1 the skill, then makes the queue need it and auto-assign
    admin = browser_page(chromium_browser, contexts)
    log_in(server, admin, "admin1", home="/admin/policies")
    apage = admin.page
    apage.goto(server.base_url + "/admin/people")
    agent_row = apage.locator("#agent-rules tr[data-agent=agent1]")
    expect(agent_row).to_contain_text("away")
    expect(apage.locator("#agent-rules tr[data-agent=agent2]")).to_contain_text("online")
    agent_row.get_by_label("Skills of agent1").fill("German")
    agent_row.get_by_role("button", name="Save agent1").click()
    expect(apage.locator("#agent-rules tr[data-agent=agent1] input.skills")).to_have_value("german")
    queue_row = apage.locator(f"#queue-rules tr[data-queue='{QUEUE}']")
    queue_row.get_by_label(f"Skills needed for {QUEUE}").fill("two words")
    queue_row.get_by_role("button", name=f"Save {QUEUE}").click()
    expect(apage.locator("#action-error")).to_contain_text("'two words' is not a skill name")
    queue_row.get_by_label(f"Skills needed for {QUEUE}").fill("german")
    queue_row.get_by_label(f"Auto-assign {QUEUE}").check()
    queue_row.get_by_role("button", name=f"Save {QUEUE}").click()
    expect(apage.locator(f"#queue-rules tr[data-queue='{QUEUE}'] input.skills")).to_have_value("german")
    expect(apage.locator(f"#queue-rules tr[data-queue='{QUEUE}'] input.auto-assign")).to_be_checked()

    # nobody available yet: agent1 is away, agent2 lacks the skill; it waits unassigned in the queue
    row2 = two.page.locator(f"#rows tr[data-conversation-id='{cid}']")
    two.page.goto(server.base_url + "/inbox?queue=" + QUEUE)
    expect(row2.locator("td.assignee")).to_have_text("")
    conv = server.call(lambda s: s.messages.get_conversation(cid))
    assert (conv.assignee, conv.queue, conv.status) == (None, QUEUE, ConversationStatus.HANDED_OFF)

    # agent1 comes back online: the conversation is hers, and her list shows it live
    row1 = page1.locator(f"#rows tr[data-conversation-id='{cid}']")
    expect(row1.locator("td.assignee")).to_have_text("")
    page1.get_by_role("button", name="Go online").click()
    expect(page1.locator("#presence-state")).to_have_text("Online")
    expect(row1.locator("td.assignee")).to_have_text("agent1")
    expect(row1.locator("td.assignee")).to_have_attribute("data-presence", "online")
    expect(page1.locator("#count-mine")).to_have_text("1")
    expect(row2.locator("td.assignee")).to_have_text("agent1")  # agent2's list follows live too
    assert wait_for(lambda: server.call(lambda s: s.messages.get_conversation(cid)).assignee == "agent1")
    entries = server.call(lambda s: s.audit.entries())
    auto = [e for e in entries if e["action"] == "inbox.auto_assigned" and e["object_id"] == cid]
    assert [(e["actor"], e["data"]["to"], e["data"]["queue"]) for e in auto] == [
        ("system:auto-assign", "agent1", QUEUE)
    ]
    for tracked in (one, two, admin):
        assert_clean(tracked)
