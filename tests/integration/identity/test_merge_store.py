"""merge_contacts and the identity lookups, on SQLite (and PostgreSQL in CI) and on the fake: same rules."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conversation import (
    AuthorKind,
    ChannelKind,
    ChatSession,
    DeliveryStatus,
    Direction,
    EmailAddress,
    InboundMessage,
    NotFound,
    PhoneAddress,
)
from conversation.fakes import FakeMessageStore
from conversation.sql import Database, SqlMessageStore

EVIDENCE = "one-time code sent to the email address, entered in conversation cv_x"


@pytest.fixture(params=["sql", "fake"])
async def store(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[Any]:
    if request.param == "fake":
        yield FakeMessageStore()
        return
    db = Database(db_url)
    try:
        yield SqlMessageStore(db)
    finally:
        await db.dispose()


async def _inbound(store: Any, channel: ChannelKind, address: Any) -> tuple[str, str]:
    result = await store.ingest(
        InboundMessage(channel=channel, external_id=str(uuid.uuid4()), address=address, text="hello")
    )
    return result.conversation.contact_id, result.conversation.id


EMAIL = EmailAddress(address="Anna@Example.com")
CHAT = ChatSession(session_id="chat-session-0001")


async def test_merge_moves_identities_and_conversations_verifies_and_records_once(store: Any) -> None:
    owner, email_conv = await _inbound(store, ChannelKind.EMAIL, EMAIL)
    chat, chat_conv = await _inbound(store, ChannelKind.CHAT, CHAT)
    assert await store.merge_contacts(chat, owner, evidence=EVIDENCE, actor="system:test", proven=EMAIL) is True
    assert (await store.find_identity(CHAT)).contact_id == owner
    email = await store.find_identity(EmailAddress(address="anna@example.com"))
    assert email.contact_id == owner and email.verified is True
    assert (await store.get_conversation(chat_conv)).contact_id == owner
    assert (await store.get_conversation(email_conv)).contact_id == owner
    assert (await store.find_conversation_by_address(CHAT, channel=ChannelKind.CHAT)).id == chat_conv
    # idempotent: nothing more is recorded
    assert await store.merge_contacts(chat, owner, evidence=EVIDENCE, actor="system:test", proven=EMAIL) is False
    merges = await store.merges_of(owner)
    assert [(m["from_contact_id"], m["into_contact_id"], m["evidence"]) for m in merges] == [(chat, owner, EVIDENCE)]
    # the next chat message joins the moved conversation
    again = await store.ingest(
        InboundMessage(channel=ChannelKind.CHAT, external_id=str(uuid.uuid4()), address=CHAT, text="more")
    )
    assert again.conversation.id == chat_conv


async def test_merge_refuses_itself_unknown_contacts_chains_and_bad_records(store: Any) -> None:
    owner, _ = await _inbound(store, ChannelKind.EMAIL, EMAIL)
    chat, _ = await _inbound(store, ChannelKind.CHAT, CHAT)
    with pytest.raises(ValueError, match="itself"):
        await store.merge_contacts(owner, owner, evidence=EVIDENCE, actor="system:test")
    with pytest.raises(NotFound):
        await store.merge_contacts("ct_missing", owner, evidence=EVIDENCE, actor="system:test")
    with pytest.raises(ValueError, match="evidence"):
        await store.merge_contacts(chat, owner, evidence=" ", actor="system:test")
    await store.merge_contacts(chat, owner, evidence=EVIDENCE, actor="system:test")
    with pytest.raises(ValueError, match="merged"):
        await store.merge_contacts(owner, chat, evidence=EVIDENCE, actor="system:test")
    phone, _ = await _inbound(store, ChannelKind.SMS, PhoneAddress(number="+4915112345678"))
    with pytest.raises(ValueError, match="already merged"):
        await store.merge_contacts(chat, phone, evidence=EVIDENCE, actor="system:test")


async def test_a_merge_whose_proof_does_not_fit_changes_nothing(store: Any) -> None:
    owner, _ = await _inbound(store, ChannelKind.EMAIL, EMAIL)
    phone_owner, phone_conv = await _inbound(store, ChannelKind.SMS, PhoneAddress(number="+4915112345678"))
    chat, chat_conv = await _inbound(store, ChannelKind.CHAT, CHAT)
    with pytest.raises(ValueError, match="not an identity"):
        await store.merge_contacts(chat, phone_owner, evidence=EVIDENCE, actor="system:test", proven=EMAIL)
    assert (await store.find_identity(CHAT)).contact_id == chat
    assert (await store.get_conversation(chat_conv)).contact_id == chat
    assert (await store.find_identity(EMAIL)).verified is False
    assert await store.merges_of(phone_owner) == [] and await store.merges_of(chat) == []


async def test_ensure_identity_adds_a_free_address_and_never_takes_one(store: Any) -> None:
    owner, _ = await _inbound(store, ChannelKind.EMAIL, EMAIL)
    chat, _ = await _inbound(store, ChannelKind.CHAT, CHAT)
    taken = await store.ensure_identity(chat, EMAIL, verified=True)
    assert taken.contact_id == owner and (await store.find_identity(EMAIL)).verified is False
    phone = PhoneAddress(number="+4915199999999")
    added = await store.ensure_identity(chat, phone, verified=True)
    assert added.contact_id == chat and added.verified is True
    assert (await store.find_identity(phone)).id == added.id
    assert await store.find_identity(EmailAddress(address="nobody@example.com")) is None
    assert await store.find_conversation_by_address(phone, channel=ChannelKind.SMS) is None


async def test_apply_delivery_status_reports_the_transition_once(store: Any) -> None:
    _, conv = await _inbound(store, ChannelKind.SMS, PhoneAddress(number="+4915112345678"))
    msg = await store.append_message(
        conv, "reply", direction=Direction.OUTBOUND, author_kind=AuthorKind.AI, channel=ChannelKind.SMS
    )
    assert await store.apply_delivery_status(msg.id, DeliveryStatus.SENT) == (None, DeliveryStatus.SENT)
    assert await store.apply_delivery_status(msg.id, DeliveryStatus.DELIVERED) == (
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
    )
    assert await store.apply_delivery_status(msg.id, DeliveryStatus.DELIVERED) == (
        DeliveryStatus.DELIVERED,
        DeliveryStatus.DELIVERED,
    )
    assert await store.apply_delivery_status(msg.id, DeliveryStatus.FAILED) == (
        DeliveryStatus.DELIVERED,
        DeliveryStatus.DELIVERED,
    )
