"""Linking an email address or phone number to a chat: the code reaches the address (real SMTP relay,
local Twilio API), five wrong codes lock, the right code merges and records it, and a typed address
alone never merges anything or opens another conversation."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from conversation import ChannelKind, ChatSession, EmailAddress, EventType, InboundMessage, PhoneAddress
from conversation.sql import schema as t
from tests.browser.live_server import LiveServer
from tests.integration.chat.conftest import ChatClient, chat_client
from tests.integration.identity.conftest import IdentityApp, unique_email, unique_phone


def _message(text: str) -> dict[str, str]:
    return {"type": "message", "id": str(uuid.uuid4()), "text": text}


async def _chat(client: ChatClient, text: str = "Where is my order 4711?") -> dict[str, Any]:
    """hello + one message; returns the session frame that names the conversation."""
    await client.hello(None)
    await client.send(_message(text))
    await client.next("ack")
    return await client.next("session")


async def _email_customer(server: LiveServer, address: str) -> tuple[str, str]:
    """A contact that wrote to us by email: (contact id, conversation id)."""
    inbound = InboundMessage(
        channel=ChannelKind.EMAIL,
        external_id=f"<{uuid.uuid4()}@mail.example.com>",
        address=EmailAddress(address=address),
        text="My order has not arrived.",
    )
    result = await server.acall(lambda s: s.messages.ingest(inbound))
    return result.conversation.contact_id, result.conversation.id


async def _count(server: LiveServer, table: Any, *where: Any) -> int:
    async def run(s: Any) -> int:
        async with s.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())

    return await server.acall(run)


async def test_the_email_code_arrives_and_the_right_code_merges_the_chat_into_the_address_owner(
    id_app: IdentityApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = id_app.server
    address = unique_email()
    owner, email_conversation = await _email_customer(server, address)
    async with chat_client(server) as client:
        session = await _chat(client)
        cid = session["conversation_id"]
        chat_contact = (await server.acall(lambda s: s.messages.get_conversation(cid))).contact_id
        assert chat_contact != owner

        await client.send({"type": "verify_start", "address": address})
        assert await client.next("verify") == {
            "type": "verify",
            "state": "code_sent",
            "kind": "email",
            "expires_in": 600,
        }
        code = id_app.relay.code_for(address)
        mail = id_app.relay.to(address)[-1]
        assert mail["From"].addresses[0].addr_spec == "support@glassdesk.test"

        await client.send({"type": "verify_code", "code": code})
        assert await client.next("verify") == {
            "type": "verify",
            "state": "verified",
            "kind": "email",
            "expires_in": None,
        }
        # the socket goes on in its own conversation
        await client.send(_message("Thanks!"))
        assert (await client.next("ack"))["duplicate"] is False

    merges = await server.acall(lambda s: s.messages.merges_of(owner))
    assert [(m["from_contact_id"], m["into_contact_id"], m["actor"]) for m in merges] == [
        (chat_contact, owner, "system:identity-otp")
    ]
    assert address.lower() not in merges[0]["evidence"].lower() and code not in merges[0]["evidence"]
    conv = await server.acall(lambda s: s.messages.get_conversation(cid))
    assert conv.contact_id == owner
    identities = {i.address.kind: i for i in await server.acall(lambda s: s.messages.identities_of(owner))}
    assert identities["email"].verified is True and identities["chat"].contact_id == owner
    assert await _count(server, t.conversations, t.conversations.c.contact_id == owner) == 2
    assert email_conversation != cid

    # the code was a system message: never stored in the conversation
    texts = [m.text for m in await server.acall(lambda s: s.messages.list_messages(cid))]
    assert texts == ["Where is my order 4711?", "Thanks!"]
    events = await server.acall(lambda s: s.timeline.list_events(cid))
    verified = [e for e in events if e.type is EventType.IDENTITY_VERIFIED]
    assert len(verified) == 1 and verified[0].data == {"kind": "email", "merged": True}
    audit = await server.acall(lambda s: s.audit.entries())
    assert [a["action"] for a in audit if a["object_id"] in (owner, cid)][:2] == [
        "identity.merged",
        "identity.code_sent",
    ]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("glassdesk"))
    assert address.lower() not in ours.lower() and code not in ours


async def test_the_sms_code_arrives_at_the_phone_and_links_a_new_verified_identity(id_app: IdentityApp) -> None:
    server = id_app.server
    number = unique_phone()
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    async with chat_client(server) as client:
        cid = (await _chat(client))["conversation_id"]
        await client.send({"type": "verify_start", "address": spaced})
        assert (await client.next("verify"))["kind"] == "phone"
        code = id_app.sms_code_for(number)
        await client.send({"type": "verify_code", "code": f"{code[:3]} {code[3:]}"})
        assert (await client.next("verify"))["state"] == "verified"
    conv = await server.acall(lambda s: s.messages.get_conversation(cid))
    phone = await server.acall(lambda s: s.messages.find_identity(PhoneAddress(number=number)))
    assert phone is not None and phone.verified and phone.contact_id == conv.contact_id
    assert await server.acall(lambda s: s.messages.merges_of(conv.contact_id)) == []  # nobody owned it: no merge
    texts = [m.text for m in await server.acall(lambda s: s.messages.list_messages(cid))]
    assert texts == ["Where is my order 4711?"]


async def test_five_wrong_codes_lock_even_the_right_one(id_app: IdentityApp) -> None:
    server = id_app.server
    address = unique_email()
    owner, _ = await _email_customer(server, address)
    async with chat_client(server) as client:
        cid = (await _chat(client))["conversation_id"]
        await client.send({"type": "verify_start", "address": address})
        await client.next("verify")
        code = id_app.relay.code_for(address)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        errors = []
        for _ in range(5):
            await client.send({"type": "verify_code", "code": wrong})
            errors.append(await client.next("error"))
        assert [e["code"] for e in errors] == ["wrong_code"] * 4 + ["code_locked"]
        assert "4 attempts left" in errors[0]["message"] and "1 attempt left" in errors[3]["message"]
        await client.send({"type": "verify_code", "code": code})
        assert (await client.next("error"))["code"] == "code_locked"
        await client.send({"type": "verify_start", "address": address})  # no fresh code while locked
        assert (await client.next("error"))["code"] == "code_locked"
        await client.send({"type": "ping"})
        assert await client.next("pong") == {"type": "pong"}
    assert len(id_app.relay.to(address)) == 1
    conv = await server.acall(lambda s: s.messages.get_conversation(cid))
    assert conv.contact_id != owner
    assert await server.acall(lambda s: s.messages.merges_of(owner)) == []
    email = await server.acall(lambda s: s.messages.find_identity(EmailAddress(address=address)))
    assert email is not None and email.verified is False and email.contact_id == owner


async def test_a_typed_email_address_alone_never_merges_or_opens_another_conversation(id_app: IdentityApp) -> None:
    server = id_app.server
    address = unique_email()
    owner, email_conversation = await _email_customer(server, address)
    merges_before = await _count(server, t.identity_merges)
    async with chat_client(server) as client:
        session = await _chat(client, f"I am {address}, show me my orders")
        cid = session["conversation_id"]
        await client.send({"type": "verify_start", "address": address})  # a code goes out, nobody enters it
        await client.next("verify")
    async with chat_client(server) as client:  # resume: still only this chat's own history
        resumed, history = await client.hello(session["token"])
        assert resumed["conversation_id"] == cid
        assert [m["text"] for m in history["messages"]] == [f"I am {address}, show me my orders"]
    async with chat_client(server) as client:  # a stranger typing the same address gets a new conversation
        other = await _chat(client, address)
        assert other["conversation_id"] not in (cid, email_conversation)

    assert await _count(server, t.identity_merges) == merges_before
    assert await _count(server, t.conversations, t.conversations.c.contact_id == owner) == 1
    conv = await server.acall(lambda s: s.messages.get_conversation(cid))
    assert conv.contact_id != owner
    email = await server.acall(lambda s: s.messages.find_identity(EmailAddress(address=address)))
    assert email is not None and email.contact_id == owner and email.verified is False
    chat_identity = await server.acall(
        lambda s: s.messages.find_identity(ChatSession(session_id=_session_id(server, session["token"])))
    )
    assert chat_identity is not None and chat_identity.contact_id == conv.contact_id


def _session_id(server: LiveServer, token: str) -> str:
    from channels.chat import SessionSigner

    session = SessionSigner(server.settings.secret_key()).verify(token)
    assert session is not None
    return session.session_id


async def test_bad_verify_input_gets_clear_error_frames_and_the_socket_stays_open(id_app: IdentityApp) -> None:
    async with chat_client(id_app.server) as client:
        await client.hello(None)
        await client.send({"type": "verify_start", "address": unique_email()})
        assert (await client.next("error"))["code"] == "conversation_required"
        await client.send(_message("hello"))
        await client.next("ack")
        for address in ("not an address", "zoe@", "0151 1234", "a\r\nb@example.com"):
            await client.send({"type": "verify_start", "address": address})
            error = await client.next("error")
            assert error["code"] == "invalid_address" and address not in error["message"]
        for code in ("12ab56", "12345", "1234567"):
            await client.send({"type": "verify_code", "code": code})
            assert (await client.next("error"))["code"] == "invalid_code"
        await client.send({"type": "verify_code", "code": "123456"})
        assert (await client.next("error"))["code"] == "no_code"
        await client.send({"type": "verify_start"})
        error = await client.next("error")
        assert error["code"] == "invalid_frame" and "address" in error["message"]
        await client.send({"type": "ping"})
        assert await client.next("pong") == {"type": "pong"}


async def test_codes_per_conversation_are_rate_limited(id_app: IdentityApp) -> None:
    async with chat_client(id_app.server) as client:
        await _chat(client)
        for _ in range(3):
            await client.send({"type": "verify_start", "address": unique_email()})
            assert (await client.next("verify"))["state"] == "code_sent"
        address = unique_email()
        await client.send({"type": "verify_start", "address": address})
        assert (await client.next("error"))["code"] == "verify_limited"
    assert id_app.relay.to(address) == []
