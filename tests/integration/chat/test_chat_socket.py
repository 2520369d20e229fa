"""The chat socket over a real WebSocket: sessions, durable acks, dedupe, resume, live pushes, identity."""

from __future__ import annotations

import uuid

from channels.chat import SessionSigner, chat_reply_payload
from conversation import (
    AuthorKind,
    ChannelKind,
    ChatSession,
    DeliveryStatus,
    Direction,
    EventType,
    OutboundMessage,
    ai_disclosure,
)
from tests.browser.live_server import LiveServer
from tests.integration.chat.conftest import PUBLIC_URL, chat_client, wait_until_subscribed


def _message(text: str, msg_id: str | None = None) -> dict[str, str]:
    return {"type": "message", "id": msg_id or str(uuid.uuid4()), "text": text}


async def _stored(server: LiveServer, external_id: str):  # type: ignore[no-untyped-def]
    return await server.acall(lambda s: s.messages.find_message_by_external_id(ChannelKind.CHAT, external_id))


async def _messages(server: LiveServer, conversation_id: str):  # type: ignore[no-untyped-def]
    return await server.acall(lambda s: s.messages.list_messages(conversation_id))


async def test_hello_without_token_opens_a_new_signed_session(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        session, history = await client.hello(None)
    assert session["resumed"] is False
    assert session["conversation_id"] is None and session["status_url"] is None
    assert history == {"type": "history", "messages": []}
    signer = SessionSigner(chat_server.settings.secret_key())
    assert isinstance(signer.verify(session["token"]), ChatSession)


async def test_message_is_acked_after_it_is_stored_and_queued(chat_server: LiveServer) -> None:
    msg_id = str(uuid.uuid4())
    async with chat_client(chat_server) as client:
        await client.hello(None)
        await client.send(_message("Where is my order 4711?", msg_id))
        ack = await client.next("ack")
        session = await client.next("session")
    stored = await _stored(chat_server, msg_id)
    assert stored is not None and stored.text == "Where is my order 4711?"
    assert ack == {"type": "ack", "id": msg_id, "message_id": stored.id, "duplicate": False}
    conv = await chat_server.acall(lambda s: s.messages.get_conversation(stored.conversation_id))
    assert session["conversation_id"] == conv.id
    assert session["status_url"] == f"{PUBLIC_URL}/status/{conv.status_token}"
    events = await chat_server.acall(lambda s: s.timeline.list_events(conv.id))
    assert [e.type for e in events] == [EventType.RECEIVED]


async def test_a_resent_uuid_is_acked_as_duplicate_and_stored_once(chat_server: LiveServer) -> None:
    msg_id = str(uuid.uuid4())
    async with chat_client(chat_server) as client:
        session, _ = await client.hello(None)
        await client.send(_message("first try", msg_id))
        first = await client.next("ack")
        await client.send(_message("first try", msg_id))
        second = await client.next("ack")
    # and once more after a reconnect, as the widget does with unacked messages
    async with chat_client(chat_server) as client:
        await client.hello(session["token"])
        await client.send(_message("first try", msg_id.upper()))
        third = await client.next("ack")
    assert first["duplicate"] is False
    assert second["duplicate"] is True and third["duplicate"] is True
    assert first["message_id"] == second["message_id"] == third["message_id"]
    stored = await _stored(chat_server, msg_id)
    assert [m.text for m in await _messages(chat_server, stored.conversation_id)] == ["first try"]


async def test_reconnect_with_the_token_resumes_the_conversation_with_its_history(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        first, _ = await client.hello(None)
        await client.send(_message("my parcel is damaged"))
        ack = await client.next("ack")
        joined = await client.next("session")
    async with chat_client(chat_server) as client:
        resumed, history = await client.hello(first["token"])
    assert resumed["resumed"] is True
    assert resumed["conversation_id"] == joined["conversation_id"]
    assert resumed["status_url"] == joined["status_url"]
    assert [(m["id"], m["author"], m["text"]) for m in history["messages"]] == [
        (ack["message_id"], "customer", "my parcel is damaged")
    ]


async def test_history_shows_sent_replies_with_the_ai_disclosure_and_never_drafts(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        first, _ = await client.hello(None)
        await client.send(_message("hello?"))
        await client.next("ack")
        joined = await client.next("session")
    cid = joined["conversation_id"]

    async def add_replies(s):  # type: ignore[no-untyped-def]
        sent = await s.messages.append_message(
            cid, "We are on it.", direction=Direction.OUTBOUND, author_kind=AuthorKind.AI, channel=ChannelKind.CHAT
        )
        await s.messages.set_delivery_status(sent.id, DeliveryStatus.DELIVERED)
        await s.messages.append_message(
            cid,
            "an unapproved draft",
            direction=Direction.OUTBOUND,
            author_kind=AuthorKind.AI,
            channel=ChannelKind.CHAT,
        )
        return sent

    sent = await chat_server.acall(add_replies)
    async with chat_client(chat_server) as client:
        _, history = await client.hello(first["token"], language="de-DE")
    assert [(m["author"], m["text"]) for m in history["messages"]] == [("customer", "hello?"), ("ai", "We are on it.")]
    ai = history["messages"][1]
    assert ai["id"] == sent.id and ai["ai_disclosure"] == ai_disclosure("de")
    assert history["messages"][0]["ai_disclosure"] is None


async def test_a_forged_or_foreign_token_gets_a_new_empty_session(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        victim, _ = await client.hello(None)
        await client.send(_message("my address is Hauptstr. 1"))
        await client.next("ack")
    victim_sid = SessionSigner(chat_server.settings.secret_key()).verify(victim["token"])
    assert victim_sid is not None
    tampered = victim["token"][:-2] + ("AA" if not victim["token"].endswith("AA") else "BB")
    foreign_key = SessionSigner("not-our-secret").issue(victim_sid)
    for token in (tampered, foreign_key, "garbage", "x" * 600):
        async with chat_client(chat_server) as client:
            session, history = await client.hello(token)
        assert session["resumed"] is False
        assert session["conversation_id"] is None
        assert history["messages"] == []
        got = SessionSigner(chat_server.settings.secret_key()).verify(session["token"])
        assert got is not None and got != victim_sid


async def test_a_typed_email_address_never_opens_another_conversation(chat_server: LiveServer) -> None:
    """ChatterMate GHSA-rfh4-6ghv-m2rr: identity is the chat session, never what the customer types."""
    async with chat_client(chat_server) as anna:
        await anna.hello(None)
        await anna.send(_message("Hi, I am anna@example.com, my claim 123"))
        await anna.next("ack")
        anna_conv = (await anna.next("session"))["conversation_id"]
    async with chat_client(chat_server) as mallory:
        await mallory.hello(None)
        await mallory.send(_message("I am anna@example.com, show me my conversation"))
        await mallory.next("ack")
        mallory_session = await mallory.next("session")
    assert mallory_session["conversation_id"] != anna_conv
    async with chat_client(chat_server) as mallory:
        _, history = await mallory.hello(mallory_session["token"])
    assert [m["text"] for m in history["messages"]] == ["I am anna@example.com, show me my conversation"]


async def test_a_message_id_of_another_session_is_refused_and_reveals_nothing(chat_server: LiveServer) -> None:
    msg_id = str(uuid.uuid4())
    async with chat_client(chat_server) as owner:
        await owner.hello(None)
        await owner.send(_message("private", msg_id))
        await owner.next("ack")
    async with chat_client(chat_server) as other:
        await other.hello(None)
        await other.send(_message("let me in", msg_id))
        error = await other.next("error")
    assert error["code"] == "id_conflict" and error["id"] == msg_id
    assert "private" not in str(error)
    stored = await _stored(chat_server, msg_id)
    assert [m.text for m in await _messages(chat_server, stored.conversation_id)] == ["private"]


async def test_chat_replies_and_progress_published_on_the_bus_reach_the_socket(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        await client.hello(None, language="de-DE")
        await client.send(_message("Wo ist mein Paket?"))
        await client.next("ack")
        cid = (await client.next("session"))["conversation_id"]
        await wait_until_subscribed(chat_server, cid)

        other = "cv_someoneelse"
        await chat_server.acall(lambda s: s.bus.publish(other, {"event": "handed_off", "actor": "system"}))
        await chat_server.acall(lambda s: s.bus.publish(cid, {"event": "understood", "actor": "ai"}))
        working = await client.next("progress")
        assert working["step"] == "working" and working["event"] == "understood"

        out = OutboundMessage(
            conversation_id=cid,
            message_id="msg_reply1",
            outbox_id="ob_1",
            channel=ChannelKind.CHAT,
            to=ChatSession(session_id="abcdefgh123"),
            text="Ihr Paket kommt morgen.",
            language="de",
            ai_generated=True,
        )
        await chat_server.acall(lambda s: s.bus.publish(cid, chat_reply_payload(out)))
        reply = await client.next("reply")
        assert _sent_at(reply)
        assert reply == {
            "type": "reply",
            "message_id": "msg_reply1",
            "author": "ai",
            "text": "Ihr Paket kommt morgen.",
            "ai": True,
            "disclosure": ai_disclosure("de"),
        }

        await chat_server.acall(lambda s: s.bus.publish(cid, {"event": "handed_off", "actor": "system"}))
        handoff = await client.next("progress")
        assert handoff["step"] == "handed_off"
        assert handoff["notice"] == "Eine Person aus unserem Team wird Ihnen hier antworten."

        human = out.model_copy(update={"message_id": "msg_reply2", "text": "Hier ist Petra.", "ai_generated": False})
        await chat_server.acall(lambda s: s.bus.publish(cid, chat_reply_payload(human)))
        reply = await client.next("reply")
        assert (reply["author"], reply["ai"], reply["disclosure"]) == ("agent", False, None)


async def test_ping_gets_pong(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        await client.hello(None)
        await client.send({"type": "ping"})
        assert await client.next("pong") == {"type": "pong"}


def _sent_at(frame: dict) -> bool:  # type: ignore[type-arg]
    """A reply frame carries when it was sent (an ISO time); taken out so the rest compares exactly."""
    import datetime as dt

    return dt.datetime.fromisoformat(str(frame.pop("at")).replace("Z", "+00:00")).tzinfo is not None
