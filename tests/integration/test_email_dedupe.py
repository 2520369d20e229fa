"""Email dedupe that cannot drop mail: an identical redelivery is deduplicated, a different message
that reuses a Message-ID is stored (and found by that Message-ID for threading)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from runtime.compose import open_container
from services.email_ingest import EmailIngest
from services.settings import Settings


def _mail(body: str, *, received: str = "by relay-a", message_id: str = "<same@example.com>") -> bytes:
    msg = EmailMessage()
    msg["Received"] = received
    msg["From"] = "Kim Kunde <kim@example.com>"
    msg["To"] = "support@glassdesk.local"
    msg["Subject"] = "Bestellung"
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg.as_bytes()


async def test_five_messages_reusing_one_message_id_are_all_stored(tmp_path: Path, redis_url: str) -> None:
    async with open_container(Settings(var_dir=tmp_path, redis_url=redis_url)) as services:
        ingest = EmailIngest(services)
        ids = [
            await ingest.accept(["support@glassdesk.local"], _mail(f"Frage Nummer {i}: wo ist Paket {i}?"))
            for i in range(5)
        ]
        assert len(set(ids)) == 5
        texts = {(await services.messages.get_message(i)).text.strip() for i in ids}
        assert texts == {f"Frage Nummer {i}: wo ist Paket {i}?" for i in range(5)}
        first = await services.messages.find_email_by_message_id("<same@example.com>")
        assert first is not None and first.id == ids[0]


async def test_an_identical_redelivery_through_another_relay_is_stored_once(tmp_path: Path, redis_url: str) -> None:
    async with open_container(Settings(var_dir=tmp_path, redis_url=redis_url)) as services:
        ingest = EmailIngest(services)
        first = await ingest.accept(["support@glassdesk.local"], _mail("Wo ist mein Paket?", received="by relay-a"))
        again = await ingest.accept(["support@glassdesk.local"], _mail("Wo ist mein Paket?", received="by relay-b"))
        assert again == first
        conv = (await services.messages.get_message(first)).conversation_id
        assert len(await services.messages.list_messages(conv)) == 1
