"""Ticket numbers customers can quote (``conversations.ticket_number``, ``GD-10042``): in the notices,
in the subject of every email we send, and as a thread key for a new email from the same sender. A
stranger quoting someone else's number is ignored (the number is public and sequential)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from channels.email.render import reply_subject
from channels.email.threads import ticket_tag
from conversation import AuthorKind, ConversationStatus, Priority
from conversation.replies import handoff_notice, review_notice, ticket_sentence
from conversation.sql.desk import ticket_label
from conversation.sql.desk_store import DeskStore
from runtime.compose import open_container
from services.contact_merge import ContactMerger
from services.email_ingest import EmailIngest
from services.settings import Settings
from tests.integration.web.test_inbox_actions import recording_relay

SUPPORT = "support@glassdesk.local"


def _mail(sender: str, subject: str, body: str, *, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg.as_bytes()


def test_notices_name_the_ticket_in_the_customers_language() -> None:
    assert handoff_notice("de", ticket="GD-10042").endswith("Ihre Vorgangsnummer: GD-10042.")
    assert handoff_notice("en-GB", ticket="GD-10042").endswith("Your ticket number: GD-10042.")
    assert handoff_notice("fr", ticket="GD-10042").endswith("Votre numéro de dossier : GD-10042.")
    assert review_notice("de", ticket="GD-10042").endswith("Ihre Vorgangsnummer: GD-10042.")
    # a review notice we only hold in de/en is English throughout, ticket line included
    assert review_notice("fr", ticket="GD-10042").endswith("Your ticket number: GD-10042.")
    assert handoff_notice("en") == handoff_notice("en", ticket=None) == handoff_notice("en", ticket=" ")
    assert ticket_sentence("de", "") == ""


def test_every_subject_carries_the_ticket_once_at_the_end() -> None:
    assert reply_subject("Bestellung", language="de", is_reply=True, ticket_number=10042) == (
        "Re: Bestellung [GD-10042]"
    )
    # the customer's reply to our email already has it: kept once, no second Re:
    assert reply_subject("Re: Bestellung [GD-10042]", language="de", is_reply=True, ticket_number=10042) == (
        "Re: Bestellung [GD-10042]"
    )
    # another ticket the customer quoted is replaced by this conversation's
    assert reply_subject("AW: [gd-10001] Rechnung", language="de", is_reply=True, ticket_number=10042) == (
        "AW: Rechnung [GD-10042]"
    )
    assert reply_subject(None, language="de", is_reply=False, ticket_number=10042) == "Ihre Anfrage [GD-10042]"
    assert reply_subject("", language="xx", is_reply=False, ticket_number=10042) == "Your request [GD-10042]"
    long = reply_subject("x" * 400, language="en", is_reply=True, ticket_number=10042)
    assert len(long) <= 200 and long.endswith(" [GD-10042]")
    assert reply_subject("A\r\nBcc: x@y", language="en", is_reply=False, ticket_number=None) == "A Bcc: x@y"
    assert ticket_tag(10042) == "[GD-10042]"


async def test_an_email_quoting_its_ticket_joins_that_conversation_only_from_its_contact(
    tmp_path: Path, redis_url: str
) -> None:
    async with open_container(Settings(var_dir=tmp_path, redis_url=redis_url)) as services:
        ingest, desk = EmailIngest(services), DeskStore(services.db)
        kim = "Kim Kunde <kim@example.com>"
        first = await ingest.accept([SUPPORT], _mail(kim, "Paket fehlt", "Wo ist 10023?", message_id="<a1@kim>"))
        conv_a = (await services.messages.get_message(first)).conversation_id
        # the same person writes from a second address; both are verified and an agent merges the
        # contacts: two open email conversations of one contact, the newer one last updated
        second = await ingest.accept(
            [SUPPORT], _mail("Kim <kim.k@example.org>", "Rechnung", "Rechnung 7 falsch", message_id="<b1@kim>")
        )
        conv_b = (await services.messages.get_message(second)).conversation_id
        contact_a = await services.messages.contact_for(conv_a)
        contact_b = await services.messages.contact_for(conv_b)
        for contact in (contact_a, contact_b):  # both addresses proven with a code
            for ident in await services.messages.identities_of(contact.id):
                await services.messages.verify_identity(ident.id)
        await ContactMerger(services).merge(contact_b.id, contact_a.id, evidence="same customer", actor="agent1")
        ticket_a = await desk.ticket_number(conv_a)
        assert ticket_a is not None and conv_a != conv_b

        # a new email (no In-Reply-To, no reply token) quoting the older ticket: it joins that one,
        # not the contact's newest conversation
        quoted = await ingest.accept(
            [SUPPORT],
            _mail(kim, f"Noch eine Frage [{ticket_label(ticket_a)}]", "Und das Paket?", message_id="<a2@kim>"),
        )
        assert (await services.messages.get_message(quoted)).conversation_id == conv_a

        # a stranger quoting the same number: ignored; the stranger gets a conversation of their own
        stranger = await ingest.accept(
            [SUPPORT],
            _mail(
                "Mallory <mallory@example.net>",
                f"Re: Paket fehlt [{ticket_label(ticket_a)}]",
                "Bitte an meine Adresse senden",
                message_id="<m1@evil>",
            ),
        )
        conv_m = (await services.messages.get_message(stranger)).conversation_id
        assert conv_m not in (conv_a, conv_b)
        assert [m.text.strip() for m in await services.messages.list_messages(conv_a)] == [
            "Wo ist 10023?",
            "Und das Paket?",
        ]

        # a number that does not exist is ignored the same way (nothing tells the sender it was wrong)
        unknown = await ingest.accept([SUPPORT], _mail(kim, "Frage [GD-99999999]", "Noch etwas", message_id="<a3@kim>"))
        assert (await services.messages.get_message(unknown)).conversation_id in (conv_a, conv_b)


async def test_the_email_we_send_carries_the_ticket_in_its_subject(tmp_path: Path, redis_url: str) -> None:
    """Through the real deliverer and SMTP relay on 127.0.0.1: needs ``OutboundMessage.ticket_number``
    filled by ``services.delivery`` (see the README note)."""
    with recording_relay() as (relay, relay_port):
        settings = Settings(var_dir=tmp_path, redis_url=redis_url, relay_port=relay_port)
        async with open_container(settings) as services:
            ingest = EmailIngest(services)
            first = await ingest.accept(
                [SUPPORT], _mail("Kim <kim@example.com>", "Paket fehlt", "Wo ist es?", message_id="<s1@kim>")
            )
            conv = (await services.messages.get_message(first)).conversation_id
            await services.messages.route_conversation(
                conv, ConversationStatus.HANDED_OFF, queue="general", priority=Priority.NORMAL
            )
            ticket = ticket_label(await DeskStore(services.db).ticket_number(conv))
            await services.deliverer.deliver(
                conv, "Wir sehen nach.", author_kind=AuthorKind.AGENT, language="de", causation_id=first,
                author_name="Lena",
            )  # fmt: skip
        sent = relay.received()
        assert len(sent) == 1
        assert sent[0]["Subject"].startswith(f"Re: Paket fehlt [{ticket}]")
