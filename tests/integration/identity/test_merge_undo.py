"""A merge records what it moved and can be undone exactly; a manual merge joins only proven identities
(SQLite, and PostgreSQL in CI through ``db_url``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from conversation import ChannelKind, EmailAddress, InboundMessage, NotFound, PhoneAddress
from conversation.sql import Database, SqlAuditLog, SqlMessageStore
from conversation.sql import schema as t
from services.contact_merge import ContactMerger, MergeRefused

EVIDENCE = "back-office customer CUST-1001 lists a phone of one contact and an email of the other"


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlMessageStore]:
    db = Database(db_url)
    try:
        yield SqlMessageStore(db)
    finally:
        await db.dispose()


async def _contact(store: SqlMessageStore, channel: ChannelKind, address: object) -> tuple[str, str]:
    result = await store.ingest(
        InboundMessage(channel=channel, external_id=str(uuid.uuid4()), address=address, text="hello")  # type: ignore[arg-type]
    )
    return result.conversation.contact_id, result.conversation.id


async def test_undo_gives_back_exactly_what_the_merge_moved(store: SqlMessageStore) -> None:
    phone, sms_conv = await _contact(store, ChannelKind.SMS, PhoneAddress(number="+4915112345678"))
    email, mail_conv = await _contact(store, ChannelKind.EMAIL, EmailAddress(address="anna@example.com"))
    assert await store.merge_contacts(email, phone, evidence=EVIDENCE, actor="agent1") is True
    (record,) = await store.merge_records(phone)
    assert record["conversation_ids"] == [mail_conv] and len(record["identity_ids"]) == 1
    assert {c.id for c in await store.conversations_of_contact(phone)} == {sms_conv, mail_conv}

    _, later_conv = await _contact(store, ChannelKind.EMAIL, EmailAddress(address="anna@example.com"))
    assert (await store.get_conversation(later_conv)).contact_id == phone  # after the merge: stays on undo

    undone = await store.undo_merge(record["merge_id"], actor="agent2")
    assert undone["undone_by"] == "agent2"
    assert (await store.get_conversation(mail_conv)).contact_id == email
    assert (await store.find_identity(EmailAddress(address="anna@example.com"))).contact_id == email  # type: ignore[union-attr]
    assert (await store.get_conversation(sms_conv)).contact_id == phone
    assert await store.merges_of(phone) == []  # the identity_merges row went; the history stays below
    (history,) = await store.merge_records(email)
    assert history["undone_at"] is not None and history["undone_by"] == "agent2"
    with pytest.raises(ValueError, match="already undone by agent2"):
        await store.undo_merge(record["merge_id"], actor="agent2")
    # and they can be merged again, which is a new merge
    assert await store.merge_contacts(email, phone, evidence=EVIDENCE, actor="agent1") is True
    assert len(await store.merge_records(phone)) == 2


async def test_undo_refuses_when_the_target_was_merged_on_and_for_unknown_ids(store: SqlMessageStore) -> None:
    a, _ = await _contact(store, ChannelKind.SMS, PhoneAddress(number="+4915111111111"))
    b, _ = await _contact(store, ChannelKind.SMS, PhoneAddress(number="+4915122222222"))
    c, _ = await _contact(store, ChannelKind.SMS, PhoneAddress(number="+4915133333333"))
    await store.merge_contacts(a, b, evidence=EVIDENCE, actor="agent1")
    await store.merge_contacts(b, c, evidence=EVIDENCE, actor="agent1")
    first = next(m for m in await store.merge_records(b) if m["from_contact_id"] == a)
    with pytest.raises(ValueError, match="undo that merge first"):
        await store.undo_merge(first["merge_id"], actor="agent1")
    with pytest.raises(NotFound):
        await store.undo_merge("mg_doesnotexist00", actor="agent1")


async def test_a_person_merges_only_proven_identities_and_both_steps_are_audited(db_url: str) -> None:
    db = Database(db_url)
    try:
        store, audit = SqlMessageStore(db), SqlAuditLog(db)
        services = type("S", (), {"messages": store, "audit": audit})()
        merger = ContactMerger(services)  # type: ignore[arg-type]
        phone, _ = await _contact(store, ChannelKind.SMS, PhoneAddress(number="+4915112345678"))
        email, _ = await _contact(store, ChannelKind.EMAIL, EmailAddress(address="anna@example.com"))
        with pytest.raises(MergeRefused, match="unverified email identity: send that address a verification code"):
            await merger.merge(email, phone, evidence=EVIDENCE, actor="agent1")
        assert await store.merge_records(phone) == []  # nothing moved

        ident = await store.find_identity(EmailAddress(address="anna@example.com"))
        assert ident is not None
        await store.verify_identity(ident.id)  # the sender entered the code
        done = await merger.merge(email, phone, evidence=EVIDENCE, actor="agent1")
        await merger.undo(done.merge_id, actor="agent2")
        entries = [e for e in await audit.entries() if e["action"].startswith("identity.")]
        actions = [(e["actor"], e["action"], e["data"]["merge_id"]) for e in entries]
        assert ("agent1", "identity.merged_manually", done.merge_id) in actions
        assert ("agent2", "identity.merge_undone", done.merge_id) in actions
        assert all("anna@example.com" not in str(e["data"]) for e in entries)  # ids only
        async with db.read() as conn:
            owner = (
                await conn.execute(
                    select(t.channel_identities.c.contact_id).where(t.channel_identities.c.id == ident.id)
                )
            ).scalar_one()
        assert owner == email
    finally:
        await db.dispose()
