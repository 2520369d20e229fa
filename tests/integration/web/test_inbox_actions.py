"""The agent inbox over real HTTP (uvicorn, Redis, SQLite), sending through a recording SMTP relay
(aiosmtpd) and a local Twilio endpoint: approve, edit, reject, take over, reply, note, hand back,
intent correction, live events; a second approve sends nothing; other roles get 404."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from conversation import (
    ActorKind,
    AuthorKind,
    ChannelKind,
    ChatSession,
    ConversationStatus,
    DecisionRecord,
    Direction,
    EmailAddress,
    EventType,
    InboundMessage,
    LookupRecord,
    PhoneAddress,
    Priority,
    Route,
    TimelineEvent,
)
from services.ingest import Ingestor
from services.settings import Settings
from tests.browser.live_server import LiveServer, live_server
from tests.support.staff import STAFF, create_staff, forget_login_attempts, login
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, free_port

DRAFT = "Your return for order 4711 is approved. Please send the parcel within 14 days."


# -- helpers (the browser test uses them too) ----------------------------------------------------------
@dataclass
class RecordingRelay:
    """An aiosmtpd handler that keeps every message it is given."""

    messages: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        raw = envelope.original_content or envelope.content
        with self.lock:
            self.messages.append(message_from_bytes(raw, policy=policy.default))
        return "250 2.0.0 OK queued"

    def received(self) -> list[Any]:
        with self.lock:
            return list(self.messages)


@contextlib.contextmanager
def recording_relay() -> Iterator[tuple[RecordingRelay, int]]:
    handler = RecordingRelay()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@contextlib.contextmanager
def desk_stack(redis_url: str, var_dir: Any) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    """The app with staff accounts, sending email to a recording relay and SMS to a local Twilio."""
    with recording_relay() as (relay, relay_port), LocalTwilioApi() as twilio:

        def settings(base: str) -> Settings:
            return Settings(
                var_dir=var_dir,
                redis_url=redis_url,
                public_url=base,
                relay_port=relay_port,
                twilio_api_base=twilio.base_url,
                twilio_account_sid=DEFAULT_SID,
                twilio_auth_token=DEFAULT_TOKEN,
            )

        with live_server(settings) as server:
            for username, role in STAFF:
                create_staff(server, username, role)
            forget_login_attempts(server)
            try:
                yield server, relay, twilio
            finally:
                forget_login_attempts(server)  # the Redis is shared: leave the login limits as we found them


def ingest(server: LiveServer, inbound: InboundMessage) -> tuple[str, str]:
    """Store an inbound message through the shared channel edge; (conversation id, message id)."""

    async def accept(services):  # type: ignore[no-untyped-def]
        result = await Ingestor(services).accept(inbound)
        return result.conversation.id, result.message.id

    return server.call(accept)


def await_agent(
    server: LiveServer,
    conversation_id: str,
    message_id: str,
    *,
    draft: str = DRAFT,
    priority: Priority = Priority.NORMAL,
    sla: dt.timedelta = dt.timedelta(hours=2),
    intent: str = "return_request",
    queue: str = "approvals",
) -> None:
    """What ``flows.steps.await_agent`` leaves behind: a decision record with the draft, the
    conversation AWAITING_AGENT in the approvals queue, and the timeline event."""
    record = DecisionRecord(
        conversation_id=conversation_id,
        inbound_message_id=message_id,
        route=Route.DRAFT_FOR_APPROVAL,
        rule_id="returns-need-review",
        policy_version="7",
        reason="returns are checked by a person",
        facts={
            "intent": intent,
            "intent_confidence": 0.87,
            "channel": "email",
            "draft_text": draft,
            "draft_grounded": True,
            "draft_problems": [],
            "await_reason": "policy asks for approval",
        },
        sources=("kb:returns-en",),
        lookups=(LookupRecord(tool="return_eligibility", source_id="lookup:return:4711", ok=True),),
        confidence=0.8,
        draft_mode="composer",
        model="composer",
    )

    async def seed(services):  # type: ignore[no-untyped-def]
        await services.timeline.save_decision(record)
        await services.messages.route_conversation(
            conversation_id,
            ConversationStatus.AWAITING_AGENT,
            queue=queue,
            priority=priority,
            sla_due_at=dt.datetime.now(dt.UTC) + sla,
            language="en",
        )
        await services.timeline.add_event(
            TimelineEvent(
                conversation_id=conversation_id,
                type=EventType.AWAITING_AGENT,
                actor=ActorKind.SYSTEM,
                causation_id=message_id,
            )
        )

    server.call(seed)


def email_inbound(text: str, *, sender: str = "kunde@example.com", name: str = "Kim Kunde") -> InboundMessage:
    return InboundMessage(
        channel=ChannelKind.EMAIL,
        external_id=f"<{uuid.uuid4()}@example.com>",
        address=EmailAddress(address=sender),
        display_name=name,
        text=text,
        meta={"subject": "Return", "references": []},
    )


def sms_inbound(text: str, number: str) -> InboundMessage:
    return InboundMessage(
        channel=ChannelKind.SMS,
        external_id="SM" + uuid.uuid4().hex,
        address=PhoneAddress(number=number),
        text=text,
        meta={"to": "+15005550006"},
    )


def chat_inbound(text: str) -> InboundMessage:
    return InboundMessage(
        channel=ChannelKind.CHAT,
        external_id=str(uuid.uuid4()),
        address=ChatSession(session_id="cs_" + uuid.uuid4().hex),
        text=text,
    )


def wait_for(check: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# -- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, RecordingRelay, LocalTwilioApi]]:
    with desk_stack(redis_url, tmp_path_factory.mktemp("inbox")) as s:
        yield s


@pytest.fixture(scope="module")
def agent(stack) -> Iterator[tuple[httpx.Client, str]]:  # type: ignore[no-untyped-def]
    client, csrf = login(stack[0], "agent1")
    yield client, csrf
    client.close()


def _post(agent: tuple[httpx.Client, str], path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    client, csrf = agent
    return client.post(path, json=body or {}, headers={"X-CSRF-Token": csrf})


def _feedback(server: LiveServer, kind: str, conversation_id: str) -> list[dict[str, Any]]:
    rows = server.call(lambda s: s.feedback.list(kind=kind))
    return [r for r in rows if r["conversation_id"] == conversation_id]


def _events(server: LiveServer, conversation_id: str) -> list[TimelineEvent]:
    return server.call(lambda s: s.timeline.list_events(conversation_id))


def _outbound(server: LiveServer, conversation_id: str) -> list[Any]:
    return [
        m for m in server.call(lambda s: s.messages.list_messages(conversation_id)) if m.direction is Direction.OUTBOUND
    ]


# -- tests ----------------------------------------------------------------------------------------------
def test_approve_sends_the_draft_once_as_ai_with_the_approver(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, relay, _ = stack
    before = len(relay.received())
    cid, mid = ingest(server, email_inbound("I want to return order 4711."))
    await_agent(server, cid, mid)

    page = agent[0].get(f"/inbox/c/{cid}")
    assert page.status_code == 200 and DRAFT in page.text and "returns-need-review" in page.text
    assert "policy version 7" in page.text and "kb:returns-en" in page.text and "return_eligibility" in page.text

    r = _post(agent, f"/api/conversations/{cid}/approve")
    assert r.status_code == 200, r.text
    again = _post(agent, f"/api/conversations/{cid}/approve")
    assert again.status_code == 409 and "no draft waiting" in again.json()["detail"]

    mails = wait_for(lambda: relay.received()[before:] or None, what="the approved email")
    time.sleep(0.3)
    assert len(relay.received()) == before + 1  # one send, never a second
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert DRAFT in body and "checked by Agent1" in body
    assert mails[0]["To"].addresses[0].addr_spec == "kunde@example.com"

    (sent,) = _outbound(server, cid)
    assert sent.author_kind is AuthorKind.AI and sent.meta["approved_by"] == "Agent1"
    record = server.call(lambda s: s.timeline.decision_for(mid))
    assert record.approved_by == "agent1" and record.outbound_message_id == sent.id
    assert record.facts["draft_state"] == "approved"
    conv = server.call(lambda s: s.messages.get_conversation(cid))
    assert conv.status is ConversationStatus.OPEN
    approved = [e for e in _events(server, cid) if e.type is EventType.APPROVED]
    assert len(approved) == 1 and approved[0].actor is ActorKind.HUMAN
    audit = server.call(lambda s: s.audit.entries())
    assert any(a["action"] == "inbox.approved" and a["object_id"] == cid and a["actor"] == "agent1" for a in audit)


def test_an_edited_draft_goes_out_as_the_agents_and_becomes_feedback(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, twilio = stack
    cid, mid = ingest(server, sms_inbound("return 4711 please", "+4915112345601"))
    await_agent(server, cid, mid)
    edited = "Hi! Your return is approved. Questions? Write to returns-team@example.org."
    r = _post(agent, f"/api/conversations/{cid}/send-edited", {"text": edited + "\u202e"})
    assert r.status_code == 200, r.text

    sms = wait_for(lambda: [m for m in twilio.messages if m["to"] == "+4915112345601"], what="the SMS")
    assert len(sms) == 1 and edited in sms[0]["body"] and "AI assistant" not in sms[0]["body"]
    (sent,) = _outbound(server, cid)
    assert sent.author_kind is AuthorKind.AGENT and sent.author_id == "agent1" and sent.text == edited
    (fb,) = _feedback(server, "draft_edit", cid)
    stored = json.loads(fb["text"])
    assert stored["draft"] == DRAFT and "Your return is approved" in stored["edited"]
    assert "returns-team@example.org" not in fb["text"]  # redacted before it is stored
    assert fb["label"] == "return_request" and fb["actor"] == "agent1"
    assert _post(agent, f"/api/conversations/{cid}/send-edited", {"text": "again"}).status_code == 409
    assert len([m for m in twilio.messages if m["to"] == "+4915112345601"]) == 1


def test_reject_with_missing_knowledge_hands_off_and_lists_a_gap(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, twilio = stack
    cid, mid = ingest(server, chat_inbound("Do you ship to the Faroe Islands? mail me at faroe@example.net"))
    await_agent(server, cid, mid, intent="delivery_problem")
    bad = _post(agent, f"/api/conversations/{cid}/reject", {"reason": "because"})
    assert bad.status_code == 422
    r = _post(agent, f"/api/conversations/{cid}/reject", {"reason": "missing_knowledge", "comment": "no article"})
    assert r.status_code == 200, r.text

    assert _outbound(server, cid) == []  # nothing was sent
    conv = server.call(lambda s: s.messages.get_conversation(cid))
    assert conv.status is ConversationStatus.HANDED_OFF and conv.assignee == "agent1"
    (rejected,) = _feedback(server, "draft_rejected", cid)
    assert rejected["reason"] == "missing_knowledge" and rejected["label"] == "delivery_problem"
    (gap,) = _feedback(server, "knowledge_gap", cid)
    assert "Faroe Islands" in gap["text"] and "faroe@example.net" not in gap["text"]
    record = server.call(lambda s: s.timeline.decision_for(mid))
    assert record.facts["draft_state"] == "rejected" and record.approved_by is None
    assert [e.actor for e in _events(server, cid) if e.type is EventType.REJECTED] == [ActorKind.HUMAN]
    gaps = agent[0].get("/inbox/gaps")
    assert gaps.status_code == 200 and "delivery_problem" in gaps.text and "Faroe Islands" in gaps.text
    assert _post(agent, f"/api/conversations/{cid}/approve").status_code == 409


def test_take_over_reply_note_and_hand_back(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, twilio = stack
    number = "+4915112345602"
    cid, _ = ingest(server, sms_inbound("my parcel is broken", number))
    assert (
        _post(agent, f"/api/conversations/{cid}/reply", {"text": "hi", "client_id": str(uuid.uuid4())}).status_code
        == 409
    )
    assert _post(agent, f"/api/conversations/{cid}/take-over").status_code == 200
    conv = server.call(lambda s: s.messages.get_conversation(cid))
    assert conv.status is ConversationStatus.HANDED_OFF and conv.assignee == "agent1"
    assert _post(agent, f"/api/conversations/{cid}/take-over").status_code == 409

    reply = {"text": "I am sorry. I am sending a new one today.", "client_id": str(uuid.uuid4())}
    assert _post(agent, f"/api/conversations/{cid}/reply", reply).status_code == 200
    assert _post(agent, f"/api/conversations/{cid}/reply", reply).status_code == 409  # same id: sent once
    sms = wait_for(lambda: [m for m in twilio.messages if m["to"] == number], what="the agent's SMS")
    time.sleep(0.2)
    assert len([m for m in twilio.messages if m["to"] == number]) == 1 and reply["text"] in sms[0]["body"]
    second = {"text": "Tracking follows.", "client_id": str(uuid.uuid4())}
    assert _post(agent, f"/api/conversations/{cid}/reply", second).status_code == 200
    wait_for(lambda: len([m for m in twilio.messages if m["to"] == number]) == 2, what="the second SMS")

    note = "Customer sounded upset; offered express shipping."
    assert _post(agent, f"/api/conversations/{cid}/notes", {"text": note}).status_code == 200
    assert _post(agent, f"/api/conversations/{cid}/notes", {"text": "x" * 1001}).status_code == 422
    (added,) = [e for e in _events(server, cid) if e.type is EventType.NOTE_ADDED]
    assert added.actor is ActorKind.HUMAN and added.data["text"] == note
    assert note in agent[0].get(f"/inbox/c/{cid}").text
    token = server.call(lambda s: s.messages.get_conversation(cid)).status_token
    status_page = httpx.get(f"{server.base_url}/status/{token}")
    assert status_page.status_code == 200 and "upset" not in status_page.text
    assert all(m.author_kind is AuthorKind.AGENT for m in _outbound(server, cid))  # the note is no message

    assert _post(agent, f"/api/conversations/{cid}/hand-back").status_code == 200
    conv = server.call(lambda s: s.messages.get_conversation(cid))
    assert conv.status is ConversationStatus.OPEN and conv.assignee is None
    assert _post(agent, f"/api/conversations/{cid}/hand-back").status_code == 409
    kinds = [e.type for e in _events(server, cid) if e.actor is ActorKind.HUMAN]
    assert kinds == [EventType.TAKEN_OVER, EventType.SENT, EventType.SENT, EventType.NOTE_ADDED, EventType.HANDED_BACK]


def test_intent_correction_is_stored_redacted(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = stack
    cid, mid = ingest(server, email_inbound("Change my IBAN to DE89370400440532013000 and mail max@example.com"))
    r = _post(agent, f"/api/messages/{mid}/intent", {"intent": "contract_change"})
    assert r.status_code == 200, r.text
    (fb,) = _feedback(server, "intent_correction", cid)
    assert fb["label"] == "contract_change" and fb["message_id"] == mid and fb["actor"] == "agent1"
    assert "DE89370400440532013000" not in fb["text"] and "max@example.com" not in fb["text"]
    assert "Change my IBAN" in fb["text"]
    assert _post(agent, f"/api/messages/{mid}/intent", {"intent": "no_such_intent"}).status_code == 409
    assert _post(agent, f"/api/messages/{mid}/intent", {"intent": "<b>"}).status_code == 422


def test_saving_the_same_intent_correction_twice_stores_one_row(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = stack
    cid, mid = ingest(server, email_inbound("Wo bleibt meine Rechnung?"))
    for _ in range(2):  # a double click, or a click after the page reloaded
        assert _post(agent, f"/api/messages/{mid}/intent", {"intent": "invoice_question"}).status_code == 200
    assert [fb["label"] for fb in _feedback(server, "intent_correction", cid) if fb["message_id"] == mid] == [
        "invoice_question"
    ]
    page = agent[0].get(f"/inbox/c/{cid}")
    assert 'value="invoice_question" selected' in page.text  # the page shows the correction, not the old guess
    assert _post(agent, f"/api/messages/{mid}/intent", {"intent": "complaint"}).status_code == 200
    assert [fb["label"] for fb in _feedback(server, "intent_correction", cid) if fb["message_id"] == mid] == [
        "invoice_question",
        "complaint",
    ]


def test_the_list_orders_by_priority_then_sla_and_marks_breaches(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = stack
    rows = {}
    for name, priority, sla in (
        ("Late Normal", Priority.NORMAL, dt.timedelta(minutes=-5)),
        ("Urgent Later", Priority.URGENT, dt.timedelta(hours=5)),
        ("Urgent Sooner", Priority.URGENT, dt.timedelta(hours=1)),
        ("Low One", Priority.LOW, dt.timedelta(minutes=10)),
    ):
        cid, mid = ingest(
            server,
            email_inbound(
                f"hello from {name}", sender=f"{name.split()[0].lower()}{uuid.uuid4().hex[:6]}@example.com", name=name
            ),
        )
        await_agent(server, cid, mid, priority=priority, sla=sla, queue="ordering")
        rows[name] = cid
    data = agent[0].get("/api/inbox/conversations?queue=ordering").json()
    assert [r["contact"] for r in data["rows"]] == ["Urgent Sooner", "Urgent Later", "Late Normal", "Low One"]
    states = {r["contact"]: r["sla"]["state"] for r in data["rows"]}
    assert states == {"Urgent Sooner": "ok", "Urgent Later": "ok", "Late Normal": "breached", "Low One": "due"}
    (ordering,) = [q for q in data["queues"] if q["name"] == "ordering"]
    assert ordering == {"name": "ordering", "waiting": 4, "breached": 1}
    page = agent[0].get("/inbox?queue=ordering")
    assert page.status_code == 200 and "SLA breached" in page.text and "SLA due soon" in page.text
    assert page.text.index("Urgent Sooner") < page.text.index("Late Normal") < page.text.index("Low One")
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_live_events_carry_ids_and_kinds_only(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, _ = stack
    cid, _ = ingest(server, chat_inbound("hello live"))
    client, csrf = agent
    lines: list[str] = []

    def read() -> None:
        with client.stream("GET", "/api/inbox/events", timeout=10) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                lines.append(line)
                if line.startswith("data:") and cid in line:
                    return

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    note = "secret internal remark 42"

    def subscribed() -> bool:
        return int(server.call(lambda s: s.redis.pubsub_numsub("gd:live:all"))[0][1]) >= 1

    wait_for(subscribed, what="the SSE subscription")
    assert _post(agent, f"/api/conversations/{cid}/notes", {"text": note}).status_code == 200
    thread.join(timeout=10)
    data = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    assert {"conversation_id": cid, "event": "note_added"} in data
    assert all(set(d) == {"conversation_id", "event"} for d in data)
    assert note not in "\n".join(lines)


def test_wrong_role_bad_ids_and_missing_csrf(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, relay, _ = stack
    cid, mid = ingest(server, email_inbound("role test", sender="role@example.com"))
    await_agent(server, cid, mid)
    ops, ops_csrf = login(server, "ops1")
    try:
        for path in ("/inbox", f"/inbox/c/{cid}", "/inbox/gaps", "/api/inbox/conversations"):
            r = ops.get(path)
            assert r.status_code == 404 and r.json() == {"detail": "Not Found"}, path
        r = ops.post(f"/api/conversations/{cid}/approve", json={}, headers={"X-CSRF-Token": ops_csrf})
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    finally:
        ops.close()
    client, csrf = agent
    assert client.post(f"/api/conversations/{cid}/approve", json={}).status_code == 403
    for bad in ("cv_doesnotexist000000000", "../../etc", "cv_%3Cscript%3E", "x" * 300):
        assert client.get(f"/inbox/c/{bad}").status_code == 404, bad
        r = client.post(f"/api/conversations/{bad}/approve", json={}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}, bad
    assert _post(agent, f"/api/conversations/{cid}/approve", {"unexpected": 1}).status_code == 422
    conv = server.call(lambda s: s.messages.get_conversation(cid))
    assert conv.status is ConversationStatus.AWAITING_AGENT  # nothing happened to it
    admin, admin_csrf = login(server, "admin1")
    try:
        assert admin.get(f"/inbox/c/{cid}").status_code == 200
    finally:
        admin.close()
    with httpx.Client(base_url=server.base_url) as anonymous:
        assert anonymous.post(f"/api/conversations/{cid}/approve", json={}).status_code == 401


def test_an_edit_retried_after_a_failed_send_goes_out_with_the_new_text(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, twilio = stack
    number = "+4915112345688"
    cid, mid = ingest(server, sms_inbound("return 4711 please", number))
    await_agent(server, cid, mid)
    twilio.fail_next(503)
    first = _post(agent, f"/api/conversations/{cid}/send-edited", {"text": "First version of the answer."})
    assert first.status_code == 503, first.text  # the provider was unavailable; nothing was sent
    second = _post(agent, f"/api/conversations/{cid}/send-edited", {"text": "Second, corrected answer."})
    assert second.status_code == 200, second.text
    sms = wait_for(lambda: [m for m in twilio.messages if m["to"] == number], what="the SMS")
    time.sleep(0.3)
    assert len(sms) == 1 and "Second, corrected answer." in sms[0]["body"]
    (sent,) = _outbound(server, cid)
    assert sent.text == "Second, corrected answer."


def test_approve_after_a_refused_send_reports_the_failure(stack, agent) -> None:  # type: ignore[no-untyped-def]
    server, _, twilio = stack
    number = "+4915112345689"
    cid, mid = ingest(server, sms_inbound("return 4711 please", number))
    await_agent(server, cid, mid)
    twilio.fail_next(400)
    first = _post(agent, f"/api/conversations/{cid}/approve")
    assert first.status_code not in (200, 409), first.text
    second = _post(agent, f"/api/conversations/{cid}/approve")
    assert second.status_code != 200, "a reply the provider refused must not be reported as sent"
    assert not [m for m in twilio.messages if m["to"] == number]
    record = server.call(lambda s: s.timeline.decision_for(mid))
    assert record.facts.get("draft_state") != "approved"


def test_a_reply_retried_after_a_failed_send_leaves_no_unsent_message_behind(stack, agent) -> None:  # type: ignore[no-untyped-def]
    import uuid

    server, _, twilio = stack
    number = "+4915112345690"
    cid, _ = ingest(server, sms_inbound("I need help with 4711", number))
    assert _post(agent, f"/api/conversations/{cid}/take-over").status_code == 200
    twilio.fail_next(503)
    failed = _post(
        agent, f"/api/conversations/{cid}/reply", {"text": "Looking into it.", "client_id": str(uuid.uuid4())}
    )
    assert failed.status_code == 503, failed.text
    ok = _post(
        agent, f"/api/conversations/{cid}/reply", {"text": "Looking into it now.", "client_id": str(uuid.uuid4())}
    )
    assert ok.status_code == 200, ok.text
    sms = wait_for(lambda: [m for m in twilio.messages if m["to"] == number], what="the SMS")
    time.sleep(0.3)
    assert len(sms) == 1 and "Looking into it now." in sms[0]["body"]
    assert [m.text for m in _outbound(server, cid)] == ["Looking into it now."]  # no unsent leftover
