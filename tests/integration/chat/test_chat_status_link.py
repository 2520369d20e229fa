"""Chat replies carry the conversation's status-page link, as email and SMS replies do."""

from __future__ import annotations

import uuid

from channels.chat import chat_reply_payload
from conversation import AuthorKind, ChannelKind, ChatSession, OutboundMessage
from tests.browser.live_server import LiveServer
from tests.integration.chat.conftest import PUBLIC_URL, chat_client, wait_until_subscribed


async def test_a_delivered_ai_reply_frame_carries_the_status_link(chat_server: LiveServer) -> None:
    msg_id = str(uuid.uuid4())
    async with chat_client(chat_server) as client:
        await client.hello(None)
        await client.send({"type": "message", "id": msg_id, "text": "Where is my order?"})
        ack = await client.next("ack")
        cid = (await client.next("session"))["conversation_id"]
        await wait_until_subscribed(chat_server, cid)
        await chat_server.acall(
            lambda s: s.deliverer.deliver(
                cid, "It ships today.", author_kind=AuthorKind.AI, language="en", causation_id=ack["message_id"]
            )
        )
        reply = await client.next("reply")
        await chat_server.acall(
            lambda s: s.deliverer.deliver(
                cid, "Petra here.", author_kind=AuthorKind.AGENT, language="en", causation_id=None
            )
        )
        agent = await client.next("reply")
    conv = await chat_server.acall(lambda s: s.messages.get_conversation(cid))
    link = f"{PUBLIC_URL}/status/{conv.status_token}"
    assert reply["text"] == "It ships today." and reply["ai"] is True and reply["status_url"] == link
    assert agent["author"] == "agent" and agent["status_url"] == link


async def test_a_reply_without_a_link_keeps_the_old_frame(chat_server: LiveServer) -> None:
    async with chat_client(chat_server) as client:
        await client.hello(None)
        await client.send({"type": "message", "id": str(uuid.uuid4()), "text": "hi"})
        await client.next("ack")
        cid = (await client.next("session"))["conversation_id"]
        await wait_until_subscribed(chat_server, cid)
        out = OutboundMessage(
            conversation_id=cid,
            message_id="msg_nolink",
            outbox_id="ob_nolink",
            channel=ChannelKind.CHAT,
            to=ChatSession(session_id="abcdefgh123"),
            text="Hi!",
            language="en",
            ai_generated=False,
        )
        assert "status_url" not in chat_reply_payload(out)
        await chat_server.acall(lambda s: s.bus.publish(cid, chat_reply_payload(out)))
        reply = await client.next("reply")
    assert "status_url" not in reply
    assert _sent_at(reply)
    assert reply == {
        "type": "reply",
        "message_id": "msg_nolink",
        "author": "agent",
        "text": "Hi!",
        "ai": False,
        "disclosure": None,
    }


def _sent_at(frame: dict) -> bool:  # type: ignore[type-arg]
    """A reply frame carries when it was sent (an ISO time); taken out so the rest compares exactly."""
    import datetime as dt

    return dt.datetime.fromisoformat(str(frame.pop("at")).replace("Z", "+00:00")).tzinfo is not None
