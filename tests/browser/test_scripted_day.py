"""Issue 12's scripted day, in Debian's chromium: 30 conversations across chat (the widget), SMS (signed
Twilio webhooks over HTTP) and email (SMTP to Glassdesk's own server), in German and English, every
turn run by the real worker (``glassdesk worker``'s body: turn worker and reconciler). Two agents, each
in their own browser context, approve and edit drafts, reply, take over, set pending and resolve
(from the list and from the conversation); the customers answer the survey on their own channel,
one "no" reopens and is resolved again. Then an ops person reads the day's figures on /ops, which
must match what the script did, and every conversation ends resolved or pending with its outcome
stored and no message unaccounted (the ledger).

The worker runs its steps without a Prefect server (``GLASSDESK_TURN_ORCHESTRATION=plain``: the same
steps, branches, lease and outcomes); tests/browser/test_prefect_ui.py covers the Prefect side."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from conversation import AuthorKind, ChannelKind, Direction
from conversation.sql.desk import DeskQueries, DeskState
from conversation.sql.outcomes import OutcomeStore
from services.ledger import LedgerState, compute_ledger
from services.ops_outcomes import day_start
from services.timefmt import TimeFormatter
from tests.browser.conftest import TrackedPage
from tests.browser.test_chat_widget import _open_demo
from tests.browser.test_desk_times import assert_clean, browser_page, log_in
from tests.support.day_stack import DayStack, day_stack, own_redis_db, wait_until
from tests.support.navigation import goto_settled

TURN_WAIT_S = 60.0


@dataclass
class Case:
    key: str
    channel: str  # chat | sms | email
    address: str  # chat: locale; sms: number; email: sender
    text: str
    route: str  # the rule the default policy must pick
    agent: str  # who works it
    action: str  # auto | approve | edit | reply | takeover | pending
    answers: tuple[str, ...] = ()  # the customer's survey answers, one per resolution
    list_resolve: bool = False
    cid: str = ""
    mid: str = ""
    page: Any = None  # the chat customer's widget


A1, A2 = "agent1", "agent2"
CASES = [
    # chat, in the widget
    Case("c1", "chat", "en-US", "How do I return an item?", "self-service", A1, "auto", ("yes 5",)),
    Case("c2", "chat", "de-DE", "Wie kann ich etwas zurückschicken?", "self-service", A2, "auto", ("4",)),
    Case("c3", "chat", "en-US", "I want to talk to a person", "wants-human", A1, "reply", ("yes 5",), True),
    Case(
        "c4",
        "chat",
        "en-US",
        "I am so angry, this is the worst shop ever, nobody helps me!!!",
        "angry-customers",
        A2,
        "reply",
        ("no", "yes 4"),
    ),
    Case("c5", "chat", "en-US", "Which payment methods can I use?", "default", A1, "approve", ("yes 5",)),
    Case("c6", "chat", "de-DE", "Kann ich mit PayPal bezahlen?", "self-service", A2, "auto", ("ja 5",)),
    Case(
        "c7", "chat", "en-US", "I want to report a claim: my bike was stolen yesterday.", "claim-report", A1, "pending"
    ),
    Case("c8", "chat", "en-US", "Do you ship to Austria?", "self-service", A1, "takeover", ("yes 4",)),
    Case("c9", "chat", "en-US", "I want to cancel my contract.", "contract-changes", A2, "edit", ("yes 5",)),
    Case(
        "c10",
        "chat",
        "de-DE",
        "Zahlt meine Hausratversicherung bei Fahrraddiebstahl?",
        "self-service",
        A2,
        "auto",
        ("ja 5",),
    ),
    # SMS: the four demo customers' phones (verified by the carrier) and others
    Case("s1", "sms", "+4915112345678", "Wo ist meine Bestellung 10023?", "self-service", A1, "auto", ("JA 5",)),
    Case("s2", "sms", "+447700900123", "Where is my order 10031?", "self-service", A2, "auto", ("yes 4",)),
    Case("s3", "sms", "+447700900456", "What is the status of my order 10035?", "self-service", A1, "auto", ("4",)),
    Case(
        "s4",
        "sms",
        "+4917612345670",
        "Ich möchte einen Wasserschaden melden, Police POL-200871.",
        "claim-report",
        A2,
        "pending",
    ),
    Case("s5", "sms", "+4915100066011", "Mensch bitte", "wants-human", A1, "reply", ("ja 5",), True),
    Case("s6", "sms", "+4915100066012", "How do I return an item?", "self-service", A2, "auto", ("yes 5",)),
    Case("s7", "sms", "+4915100066013", "Welche Zahlungsarten gibt es?", "default", A1, "approve", ("ja 4",)),
    Case(
        "s8",
        "sms",
        "+4915100066014",
        "Das ist eine Frechheit! Schon wieder falsch geliefert, ich bin stinksauer!",
        "angry-customers",
        A2,
        "reply",
        ("ja 3",),
        True,
    ),
    Case(
        "s9",
        "sms",
        "+4915100066015",
        "Does my household insurance cover a broken window?",
        "self-service",
        A1,
        "auto",
        ("yes",),
    ),
    Case("s10", "sms", "+4915100066016", "Wie lange dauert der Versand?", "self-service", A2, "auto", ("ja 5",)),
    # email
    Case("e1", "email", "kunde1@example.com", "Was kostet der Versand?", "self-service", A1, "auto", ("ja 5",)),
    Case("e2", "email", "kunde2@example.com", "How long does shipping take?", "self-service", A2, "auto", ("yes 4",)),
    Case(
        "e3",
        "email",
        "kunde3@example.com",
        "I would like to speak to a human agent please.",
        "wants-human",
        A2,
        "reply",
        ("yes 5",),
        True,
    ),
    Case(
        "e4",
        "email",
        "kunde4@example.com",
        "Schadenmeldung: Mein Fahrrad wurde gestohlen.",
        "claim-report",
        A1,
        "pending",
    ),
    Case("e5", "email", "kunde5@example.com", "Welche Zahlungsarten gibt es?", "default", A2, "approve", ("ja 5",)),
    Case(
        "e6",
        "email",
        "kunde6@example.com",
        "I was charged twice for my order, I want a refund of 300 euros.",
        "guard:refund-limit",
        A1,
        "reply",
        ("yes 4",),
    ),
    Case(
        "e7",
        "email",
        "kunde7@example.com",
        "Das ist eine Frechheit! Schon wieder falsch geliefert, ich bin stinksauer!",
        "angry-customers",
        A1,
        "reply",
        ("ja 5",),
    ),
    Case("e8", "email", "kunde8@example.com", "Wie lange dauert der Versand?", "self-service", A2, "auto", ("ja 5",)),
    Case("e9", "email", "kunde9@example.com", "Do you ship to Austria?", "self-service", A1, "auto"),  # never answers
    Case(
        "e10",
        "email",
        "kunde10@example.com",
        "Ich möchte einen Schaden melden, Wasserschaden in der Küche.",
        "claim-report",
        A2,
        "reply",
        ("4",),
    ),
]


@pytest.fixture(scope="module")
def day(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DayStack]:
    with day_stack(own_redis_db(redis_url, 11), tmp_path_factory.mktemp("scripted-day")) as stack:
        yield stack


@pytest.fixture
def contexts() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for context in made:
        context.close()


# -- what the store says ----------------------------------------------------------------------------------
def _stored_inbound(day: DayStack, case: Case, external_id: str) -> tuple[str, str]:
    def find(s):  # type: ignore[no-untyped-def]
        if case.channel == "email":
            return s.messages.find_email_by_message_id(external_id)
        return s.messages.find_message_by_external_id(ChannelKind(case.channel), external_id)

    msg = wait_until(lambda: day.server.call(find), timeout=10, what=f"{case.key}'s message to be stored")
    return msg.conversation_id, msg.id


def _decided(day: DayStack, case: Case) -> Any:
    return day.server.call(lambda s: s.timeline.decision_for(case.mid))


def _settled(day: DayStack) -> bool:
    """The worker has run every turn and every send left the outbox."""
    depth = day.server.call(lambda s: s.queue.depth())
    return depth["pending"] == 0 and depth["lag"] == 0


def _desk(day: DayStack, cid: str) -> Any:
    row = day.server.call(lambda s: DeskQueries(s.db).row(cid))
    assert row is not None
    return row


def _outcomes(day: DayStack, cid: str) -> list[Any]:
    return day.server.call(lambda s: OutcomeStore(s.db).of_conversation(cid))


def _messages(day: DayStack, cid: str) -> list[Any]:
    return day.server.call(lambda s: s.messages.list_messages(cid))


# -- the agents ---------------------------------------------------------------------------------------------
def _open_conversation(agent: TrackedPage, day: DayStack, cid: str) -> Any:
    page = agent.page
    goto_settled(page, f"{day.server.base_url}/inbox/c/{cid}")
    expect(page.locator("#conversation")).to_have_attribute("data-conversation-id", cid)
    return page


def _reply(page: Any, text: str) -> None:
    page.locator("#reply-text").fill(text)
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".msg-agent pre.text", has_text=text)).to_be_visible()


def _take_over(page: Any) -> None:
    page.get_by_role("button", name="Take over").click()
    expect(page.locator("#reply-text")).to_be_visible()


def _resolve_here(page: Any) -> None:
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator("#conv-state")).to_have_text("resolved")


def _resolve_from_list(agent: TrackedPage, day: DayStack, case: Case, queue: str) -> None:
    page = agent.page
    goto_settled(page, f"{day.server.base_url}/inbox?queue={queue}")
    row = page.locator(f"tr[data-conversation-id='{case.cid}']")
    row.get_by_role("button", name="Resolve").click()
    expect(row).to_have_count(0)


def _work(agent: TrackedPage, day: DayStack, case: Case) -> None:
    """What the agent does with the conversation, up to resolving it (or leaving it pending)."""
    page = _open_conversation(agent, day, case.cid)
    if case.action == "approve":
        page.get_by_role("button", name="Approve unchanged").click()
        expect(page.locator("#draft")).to_have_count(0)
    elif case.action == "edit":
        draft = page.locator("#draft-text")
        draft.fill(draft.input_value() + "\n\nI have noted your request; a colleague confirms it in writing.")
        page.get_by_role("button", name="Send edited").click()
        expect(page.locator("#draft")).to_have_count(0)
    elif case.action == "takeover":  # from the automation
        _take_over(page)
        _reply(page, "Yes, we ship to Austria; delivery takes 3-5 working days.")
    elif case.action == "reply":  # waiting in a queue: the agent takes it, then answers
        _take_over(page)
        _reply(page, "Thank you for writing. I have looked into it and sorted it out for you.")
    elif case.action == "pending":
        _take_over(page)
        _reply(page, "Please send us photos of the damage and the police report, then we continue.")
        page.get_by_role("button", name="Set pending").click()
        expect(page.locator("#conv-state")).to_have_text("pending (waiting on the customer)")
        return
    if case.list_resolve:
        queue = _desk(day, case.cid).queue or "general"
        _resolve_from_list(agent, day, case, queue)
    else:
        if case.action != "auto":  # the page reloads itself after an action: open it fresh so no late
            page = _open_conversation(agent, day, case.cid)  # live reload swallows the click
        _resolve_here(page)


# -- the customers ------------------------------------------------------------------------------------------
def _send(tracked: TrackedPage, text: str) -> str:
    """Type into the widget and send; the stored message id once the server acknowledged it."""
    page = tracked.page
    page.locator(".gd-chat-input").fill(text)
    page.locator(".gd-chat-input").press("Enter")
    bubble = page.locator(".gd-chat-msg--customer", has_text=text).last
    expect(bubble.locator(".gd-chat-state")).to_have_text(re.compile("^(Delivered|Zugestellt)$"))
    message_id = bubble.get_attribute("data-message-id")
    assert message_id
    return message_id


def _write(day: DayStack, case: Case, new_page: Any) -> None:
    if case.channel == "chat":
        tracked = new_page(locale=case.address)
        chat = _open_demo(day.server, tracked)
        chat.get_by_role("button", name="Chat with us" if case.address == "en-US" else "Chatten Sie mit uns").click()
        case.page = tracked
        case.mid = _send(tracked, case.text)
        case.cid = day.server.call(lambda s: s.messages.get_message(case.mid)).conversation_id
    elif case.channel == "sms":
        case.cid, case.mid = _stored_inbound(day, case, day.sms(case.address, case.text))
    else:
        subject = (
            "Frage" if "ä" in case.text or "ö" in case.text or case.text.startswith(("Was", "Wie")) else "Question"
        )
        case.cid, case.mid = _stored_inbound(day, case, day.email(case.address, subject, case.text))


def _survey_answer(day: DayStack, case: Case, answer: str, nth: int) -> None:
    """The customer answers the ``nth`` survey (1-based) on their channel."""
    if case.channel == "chat":
        chat = case.page.page
        expect(chat.locator(".gd-chat-msg--system", has_text="GD-")).to_have_count(nth)
        _send(case.page, answer)
    elif case.channel == "sms":
        wait_until(
            lambda: sum("GD-" in b for b in day.sms_to(case.address)) >= nth, timeout=10, what=f"{case.key}'s survey"
        )
        day.sms(case.address, answer)
    else:
        surveys = wait_until(
            lambda: [m for m in day.mail_to(case.address) if "GD-" in m.get_body(("plain",)).get_content()][nth - 1 :],
            timeout=10,
            what=f"{case.key}'s survey mail",
        )
        survey = surveys[0]
        day.email(case.address, "Re: " + str(survey["Subject"]), answer, in_reply_to=str(survey["Message-ID"]))


@pytest.mark.scenario  # ~2.5 min: `make day`; each of its parts has its own short browser test in make test
def test_a_scripted_day_of_thirty_conversations(day: DayStack, chromium_browser, new_page, contexts) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    server = day.server
    assert len(CASES) == 30 and {c.channel for c in CASES} == {"chat", "sms", "email"}

    # -- morning: the customers write, the worker runs every turn -------------------------------------------
    for case in CASES:
        _write(day, case, new_page)
    wait_until(
        lambda: all(_decided(day, c) is not None for c in CASES) and _settled(day),
        timeout=TURN_WAIT_S,
        what="the worker to decide every first message",
    )
    assert day.worker_errors == []
    routes = {c.key: _decided(day, c).rule_id for c in CASES}
    assert routes == {c.key: c.route for c in CASES}, "the default policy routed the day differently"
    for case in CASES:
        if case.action in {"auto", "takeover"}:  # the automation answered, on the customer's channel
            assert any(m.author_kind is AuthorKind.AI for m in _messages(day, case.cid)), case.key
    written = time.monotonic()

    # -- the agents work the inbox --------------------------------------------------------------------------
    agents = {}
    for username in (A1, A2):
        agents[username] = browser_page(chromium_browser, contexts)
        log_in(server, agents[username], username)
    for case in CASES:
        _work(agents[case.agent], day, case)

    # -- the customers answer the survey on their channel ---------------------------------------------------
    for case in CASES:
        if case.answers:
            _survey_answer(day, case, case.answers[0], 1)
    reopened = [c for c in CASES if len(c.answers) > 1]
    assert [c.answers[0] for c in reopened] == ["no"]
    wait_until(
        lambda: _settled(day) and all(_desk(day, c.cid).desk_state is DeskState.OPEN for c in reopened),
        timeout=TURN_WAIT_S,
        what='the "no" to reopen its conversation',
    )
    for case in reopened:  # back with the agent who resolved it, who answers and resolves again
        assert _desk(day, case.cid).assignee == case.agent
        page = _open_conversation(agents[case.agent], day, case.cid)
        _reply(page, "I am sorry it is not solved yet: a replacement is on its way today.")
        page = _open_conversation(agents[case.agent], day, case.cid)
        _resolve_here(page)
        _survey_answer(day, case, case.answers[1], 2)
    wait_until(
        lambda: (
            _settled(day)
            and all(
                (len(o := _outcomes(day, c.cid)) == len(c.answers) and all(r.answered_at for r in o))
                for c in CASES
                if c.answers
            )
        ),
        timeout=TURN_WAIT_S,
        what="every survey answer to be taken",
    )
    worked = time.monotonic()

    # -- every conversation ends resolved or pending, its outcome stored -------------------------------------
    for case in CASES:
        row = _desk(day, case.cid)
        rows = _outcomes(day, case.cid)
        if case.action == "pending":
            assert row.desk_state is DeskState.PENDING and rows == [], case.key
            continue
        assert row.desk_state is DeskState.RESOLVED, (case.key, row.desk_state)
        expected_rows = max(1, len(case.answers))
        assert len(rows) == expected_rows and all(r.resolved_by == case.agent for r in rows), (case.key, rows)
        assert all(r.survey_message_id for r in rows), case.key
        for r, answer in zip(rows, case.answers, strict=False):
            words = answer.casefold().split()
            solved = True if words[0] in {"yes", "ja"} else False if words[0] == "no" else None
            rating = int(words[-1]) if words[-1].isdigit() else None
            assert (r.solved, r.rating) == (solved, rating), (case.key, answer, r)
        human = case.action != "auto"
        assert all(r.human_replied is human for r in rows[-1:]), (case.key, rows)
    conversations = {c.cid for c in CASES}
    assert len(conversations) == 30  # every answer joined its conversation, none started a new one

    since = day_start(dt.datetime.now(dt.UTC), TimeFormatter.for_zone(server.settings.timezone))
    ledger = server.call(lambda s: compute_ledger(s, since=since, bound_s=0.0))
    assert ledger.unaccounted == [] and ledger.alarms == [], ledger.to_json()
    assert ledger.counts[LedgerState.IN_PROGRESS] == 0

    # -- what ops must see, from what the script did --------------------------------------------------------
    resolutions = [(c, a) for c in CASES if c.action != "pending" for a in (c.answers or (None,))]
    answered = [(c, a) for c, a in resolutions if a is not None]
    confirmed = [(c, a) for c, a in answered if a.split()[0].casefold() in {"yes", "ja"}]
    automated = [(c, a) for c, a in confirmed if c.action == "auto"]
    ratings = [int(a.split()[-1]) for _, a in answered if a.split()[-1].isdigit()]
    agent_rows = {}
    for username in (A1, A2):
        mine = [(c, a) for c, a in resolutions if c.agent == username]
        r = [int(a.split()[-1]) for _, a in mine if a and a.split()[-1].isdigit()]
        agent_rows[username] = [
            username,
            _pct(sum(x >= 4 for x in r) / len(r)),
            f"{statistics.fmean(r):.2f}",
            str(len(r)),
            str(sum(1 for _, a in mine if a and a.split()[0].casefold() in {"yes", "ja"})),
            str(sum(1 for _, a in mine if a == "no")),
        ]

    # first response: first customer message -> first AI or agent reply that went out, per conversation
    waits = []
    for case in CASES:
        msgs = _messages(day, case.cid)
        asked = min(m.created_at for m in msgs if m.author_kind is AuthorKind.CUSTOMER)
        replies = [
            m.created_at
            for m in msgs
            if m.direction is Direction.OUTBOUND
            and m.author_kind in {AuthorKind.AI, AuthorKind.AGENT}
            and m.external_id
        ]
        assert replies, f"{case.key} never got a reply"
        waits.append((min(replies) - asked).total_seconds())
    resolution_s = [float(r.resolution_s) for c in CASES for r in _outcomes(day, c.cid) if r.resolution_s is not None]

    ops = browser_page(chromium_browser, contexts)
    log_in(server, ops, "ops1", home="/ops")
    page = ops.page
    expect(page.locator("#o-conversations")).to_have_text(str(len(CASES)))
    expect(page.locator("#o-unanswered")).to_have_text("0")
    expect(page.locator("#o-frt-count")).to_have_text(str(len(CASES)))
    expect(page.locator("#o-frt")).to_have_text(_secs(round(statistics.median(waits), 1)))
    expect(page.locator("#o-resolved")).to_have_text(str(len(resolutions)))
    expect(page.locator("#o-resolution")).to_have_text(_secs(round(statistics.median(resolution_s), 1)))
    expect(page.locator("#o-asked")).to_have_text(str(len(resolutions)))
    expect(page.locator("#o-answered")).to_have_text(str(len(answered)))
    expect(page.locator("#o-not-solved")).to_have_text("1")
    expect(page.locator("#o-confirmed")).to_have_text(str(len(confirmed)))
    expect(page.locator("#o-automated")).to_have_text(str(len(automated)))
    expect(page.locator("#o-automation")).to_have_text(_pct(len(automated) / len(confirmed)))
    expect(page.locator("#o-ratings")).to_have_text(str(len(ratings)))
    expect(page.locator("#o-csat")).to_have_text(_pct(sum(r >= 4 for r in ratings) / len(ratings)))
    expect(page.locator("#o-csat-avg")).to_have_text(f"{statistics.fmean(ratings):.2f}")
    rows = page.locator("#csat-agents tbody tr")
    expect(rows).to_have_count(2)
    for i, username in enumerate(sorted(agent_rows)):
        expect(rows.nth(i).locator("td")).to_have_text(agent_rows[username])
    for queue in sorted({_queue_of(day, c) for c, _ in resolutions}):
        mine = [(c, a) for c, a in resolutions if _queue_of(day, c) == queue]
        row = page.locator("#csat-queues tbody tr", has=page.locator("td", has_text=queue)).first
        expect(row.locator("td").nth(4)).to_have_text(
            str(sum(1 for _, a in mine if a and a.split()[0].casefold() in {"yes", "ja"}))
        )
    for tracked in (*agents.values(), ops):
        assert_clean(tracked)
    for case in CASES:
        if case.page is not None:
            assert case.page.page_errors == [] and case.page.csp_violations == [], case.key
    print(
        f"\nscripted day: customers {written - started:.1f} s, agents and surveys {worked - written:.1f} s, "
        f"total {time.monotonic() - started:.1f} s"
    )


def _queue_of(day: DayStack, case: Case) -> str:
    return str(_outcomes(day, case.cid)[-1].queue)


def _pct(v: float) -> str:
    return f"{v * 100:.1f} %"


def _secs(v: float) -> str:
    """The page's own formatting (web/static/ops.js ``secs``)."""
    if v < 60:
        return f"{v:.1f} s" if v < 10 else f"{v:.0f} s"
    if v < 3600:
        return f"{v / 60:.1f} min"
    return f"{v / 3600:.1f} h"
