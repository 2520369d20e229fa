"""Seed a realistic life for two customers through the real services, turns and sinks.

Customer A (the one erased or exported) has ten distinct identifiers spread over SMS, email (with an
attachment) and chat: phone, email, name, policy number, claim number, IBAN, street address, a canary
word, the attachment's hash and the chat device id. Their life covers the real turn flow on Prefect,
an approved draft, an edited draft, an internal note, an intent correction the model was retrained on,
a send that failed and was retried, a dead-lettered turn, two verified codes (chat merged into the
email contact, that into the SMS contact) and a third code left pending, and a turn entry left
pending in the stream. Customer B (SMS, and email with an attachment) must come through untouched.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import json
import re
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage

from conversation import (
    ActorKind,
    ChannelKind,
    ChatSession,
    ConversationStatus,
    DecisionRecord,
    EmailAddress,
    EventType,
    InboundMessage,
    PhoneAddress,
    Route,
    TimelineEvent,
    TurnRef,
)
from runtime.turn_runner import TurnRunner
from runtime.worker import worker_for
from services.agent_desk import AgentDesk, DeskActor
from services.email_ingest import EmailIngest
from services.identity import IdentityVerifier, VerifyOutcome
from services.ingest import Ingestor
from tests.integration.gdpr.conftest import Stack

__all__ = ["Person", "Seeded", "seed", "A", "B"]

AGENT = DeskActor(username="agent1", display_name="Agnes Agent")


@dataclass(frozen=True)
class Person:
    phone: str
    email: str
    name: str
    policy: str
    claim: str
    iban: str
    street: str
    canary: str
    device: str
    attachment: bytes

    @property
    def attachment_sha256(self) -> str:
        import hashlib

        return hashlib.sha256(self.attachment).hexdigest()

    def identifiers(self) -> dict[str, str]:
        """The ten identifiers a scan looks for."""
        return {
            "phone": self.phone,
            "email": self.email,
            "name": self.name,
            "policy": self.policy,
            "claim": self.claim,
            "iban": self.iban,
            "street": self.street,
            "canary": self.canary,
            "attachment_sha256": self.attachment_sha256,
            "device": self.device,
        }


A = Person(
    phone="+4915730019917",
    email="liesel.quenzbach@example.org",
    name="Liesel Quenzbach",
    policy="POL-938271",
    claim="CLM-2026-9917",
    iban="DE44500105175407324931",
    street="Quenzbachweg 17",
    canary="quenzelbrotkanarie",
    device="dev-quenz-5f2a9c1e7b",
    attachment=b"%PDF-1.4 Schadensfoto Quenzbach " + bytes(range(256)) * 4,
)
B = Person(
    phone="+447700900777",
    email="barnaby.oddwhistle@example.net",
    name="Barnaby Oddwhistle",
    policy="POL-555000",
    claim="CLM-2026-5550",
    iban="GB29NWBK60161331926819",
    street="Oddwhistle Lane 9",
    canary="marmalightningwhelk",
    device="dev-oddw-77aa11bb22",
    attachment=b"\x89PNG\r\n\x1a\n Oddwhistle receipt " + bytes(range(255, -1, -1)) * 4,
)


@dataclass
class Seeded:
    """What the seeding knows from the services' answers (not from reading the tables)."""

    contact_id: str  # one of A's contacts (the erasure resolves it to the surviving one)
    other_contact_ids: list[str]
    conversation_ids: set[str] = field(default_factory=set)
    inbound_ids: set[str] = field(default_factory=set)
    decided_ids: set[str] = field(default_factory=set)  # inbound messages with a decision record
    turned_ids: set[str] = field(default_factory=set)  # inbound messages the real turn flow ran on
    note_texts: list[str] = field(default_factory=list)
    feedback_ids: set[str] = field(default_factory=set)
    attachment_ids: set[str] = field(default_factory=set)
    approved_message_ids: set[str] = field(default_factory=set)
    other_ids: set[str] = field(default_factory=set)  # B's message and conversation ids


def _email(
    person: Person,
    *,
    subject: str,
    text: str,
    message_id: str,
    attach: bool,
    in_reply_to: str | None = None,
    auto_reply: bool = False,
) -> bytes:
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = f"{person.name} <{person.email}>"
    msg["To"] = "support@glassdesk.local"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if auto_reply:  # quarantined on arrival: not answered, kept for a person with its raw bytes
        msg["Auto-Submitted"] = "auto-replied"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(text)
    if attach:
        msg.add_attachment(person.attachment, maintype="application", subtype="pdf", filename="schaden.pdf")
    return msg.as_bytes()


def _sms(person: Person, sid: str, text: str) -> InboundMessage:
    return InboundMessage(
        channel=ChannelKind.SMS,
        external_id=sid,
        address=PhoneAddress(number=person.phone),
        text=text,
        meta={"to": "+15005550006", "num_media": 0, "media": []},
    )


async def _draft(stack: Stack, conversation_id: str, message_id: str, text: str) -> None:
    """What the turn's await_agent step leaves: a draft waiting for a person."""
    s = stack.services
    await s.timeline.save_decision(
        DecisionRecord(
            conversation_id=conversation_id,
            inbound_message_id=message_id,
            route=Route.DRAFT_FOR_APPROVAL,
            rule_id="contract-changes",
            policy_version="1",
            reason="contract changes are checked by a person",
            facts={"intent": "contract_change", "intent_confidence": 0.91, "draft_text": text},
            confidence=0.9,
            draft_mode="composer",
            model="composer",
        )
    )
    await s.messages.route_conversation(
        conversation_id, ConversationStatus.AWAITING_AGENT, queue="approvals", language="de"
    )
    await s.timeline.add_event(
        TimelineEvent(
            conversation_id=conversation_id,
            type=EventType.AWAITING_AGENT,
            actor=ActorKind.SYSTEM,
            causation_id=message_id,
        )
    )


async def _drain(stack: Stack) -> None:
    """Ack whatever is queued (turns seeded by hand, not run)."""
    q = stack.services.queue
    for d in await q.read("seed", count=100, block_ms=0):
        await q.ack(d.entry_id)


def _latest_code(stack: Stack, folder: str) -> str:
    files = sorted((stack.var / folder).iterdir(), key=lambda p: p.stat().st_mtime)
    for path in reversed(files):
        if folder == "sms":
            text = json.loads(path.read_text())["body"]
        else:
            mail = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
            body = mail.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
        found = re.search(r"\b(\d{6})\b", text)
        if found and ("code" in text.lower()):
            return found.group(1)
    raise AssertionError(f"no verification code in var/{folder}")


async def seed(stack: Stack) -> Seeded:
    s = stack.services
    ingest = Ingestor(s)
    mail = EmailIngest(s)
    a, b = A, B

    # -- first contact from every channel; the relay is down, so email replies wait in the outbox
    sms1 = await ingest.accept(
        _sms(
            a,
            "SM" + "a1" * 16,
            f"Hallo, hier {a.name}. Bitte buchen Sie den Beitrag fuer "
            f"{a.policy} von meiner IBAN {a.iban} ab. Kennwort {a.canary}.",
        )
    )
    mail1_id = await mail.accept(
        ["support@glassdesk.local"],
        _email(
            a,
            subject=f"Schaden {a.claim}",
            message_id="<quenz-1@example.org>",
            attach=True,
            text=f"Guten Tag, zu meinem Schaden {a.claim} am {a.street}, 12345 Musterstadt, anbei das Foto. "
            f"Kennwort {a.canary}. Viele Gruesse {a.name}",
        ),
    )
    chat1 = await ingest.accept(
        InboundMessage(
            channel=ChannelKind.CHAT,
            external_id="00000000-0000-4000-8000-0000000a0001",
            address=ChatSession(session_id=a.device),
            text=f"Wie lange dauert der Versand? Meine Adresse ist {a.street}.",
        )
    )
    b_sms = await ingest.accept(
        _sms(b, "SM" + "b1" * 16, f"Hi, {b.name} here, policy {b.policy}, IBAN {b.iban}, {b.canary}.")
    )
    b_mail_id = await mail.accept(
        ["support@glassdesk.local"],
        _email(
            b,
            subject=f"Claim {b.claim}",
            message_id="<oddw-1@example.net>",
            attach=True,
            text=f"Hello, my claim {b.claim}, {b.street}. {b.canary}. Regards {b.name}",
        ),
    )

    for person, mid in ((a, "<quenz-ooo@example.org>"), (b, "<oddw-ooo@example.net>")):
        await mail.accept(
            ["support@glassdesk.local"],
            _email(
                person,
                subject="Abwesenheit",
                message_id=mid,
                attach=False,
                auto_reply=True,
                text=f"Ich bin nicht im Buero. {person.name}",
            ),
        )

    runner = await TurnRunner.create(s)
    worker = worker_for(s, runner.handle_batch, name="gdpr-worker")
    try:
        assert await worker.run_once(block_ms=200) >= 5
    finally:
        await runner.aclose()

    # -- the relay comes up: the waiting email replies are retried and go out
    stack.relay.start()
    retried = 0
    for pending in await s.outbox.pending(changed_before=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)):
        await s.deliverer.retry(pending.outbox_id)
        retried += 1
    assert retried >= 1, "an email reply waited in the outbox while the relay was down"

    # -- verification: chat -> email contact -> SMS contact; a third code stays pending
    verifier = IdentityVerifier(s)
    assert (
        await verifier.start(chat1.conversation.id, EmailAddress(address=a.email))
    ).outcome is VerifyOutcome.CODE_SENT
    result = await verifier.confirm(chat1.conversation.id, _latest_code(stack, "mail"))
    assert result.outcome is VerifyOutcome.VERIFIED and result.merged
    assert (
        await verifier.start(chat1.conversation.id, PhoneAddress(number=a.phone))
    ).outcome is VerifyOutcome.CODE_SENT
    result = await verifier.confirm(chat1.conversation.id, _latest_code(stack, "sms"))
    assert result.outcome is VerifyOutcome.VERIFIED and result.merged
    assert (
        await verifier.start(chat1.conversation.id, EmailAddress(address=a.email))
    ).outcome is VerifyOutcome.CODE_SENT

    # -- an approved draft (SMS) and an edited draft (email thread)
    desk = AgentDesk(s)
    sms2 = await ingest.accept(_sms(a, "SM" + "a2" * 16, f"Ich moechte meinen Vertrag {a.policy} aendern."))
    await _drain(stack)
    await _draft(
        stack, sms2.conversation.id, sms2.message.id, f"Liebe Frau Quenzbach, Ihr Vertrag {a.policy} wird geaendert."
    )
    approved = await desk.approve(sms2.conversation.id, actor=AGENT)
    mail2_id = await mail.accept(
        ["support@glassdesk.local"],
        _email(
            a,
            subject=f"Re: Schaden {a.claim}",
            message_id="<quenz-2@example.org>",
            attach=False,
            in_reply_to="<quenz-1@example.org>",
            text=f"Bitte aendern Sie auch die Adresse auf {a.street}.",
        ),
    )
    mail2 = await s.messages.get_message(mail2_id)
    await _drain(stack)
    await _draft(stack, mail2.conversation_id, mail2_id, f"Liebe Frau Quenzbach, die Adresse {a.street} ist notiert.")
    edited = await desk.send_edited(
        mail2.conversation_id, f"Guten Tag {a.name}, wir haben {a.street} eingetragen.", actor=AGENT
    )

    # -- an internal note and an intent correction the model is retrained on
    note = f"Rueckruf bei {a.name} unter {a.phone}: IBAN {a.iban} bestaetigt."
    await desk.take_over(chat1.conversation.id, actor=AGENT)
    await desk.add_note(chat1.conversation.id, note, actor=AGENT)
    fid = await desk.correct_intent(sms1.message.id, "contract_change", actor=AGENT)
    await asyncio.to_thread(_retrain_like_the_flow, stack)

    # -- a turn that keeps failing is dead-lettered (and handed to a person with an acknowledgement)
    sms3 = await ingest.accept(_sms(a, "SM" + "a3" * 16, f"Noch eine Frage zu {a.claim}."))

    async def poison(deliveries):  # type: ignore[no-untyped-def]
        return {d.entry_id: RuntimeError("poison") for d in deliveries}

    poisoned = worker_for(s, poison, name="gdpr-poison")
    await poisoned.run_once(block_ms=100)
    await asyncio.sleep(0.5)  # > turn_min_idle_ms: the entry is reclaimed with its second delivery
    await poisoned.run_once(block_ms=100)
    dead = await s.queue.dead_letters()
    assert any(d["message_id"] == sms3.message.id for d in dead), dead

    # -- a turn entry left pending (a worker died holding it)
    await s.queue.enqueue(TurnRef(message_id=sms1.message.id, conversation_id=sms1.conversation.id))
    assert await s.queue.read("gdpr-dead-worker", count=10, block_ms=0)

    mail1 = await s.messages.get_message(mail1_id)
    seeded = Seeded(
        contact_id=(await s.messages.contact_for(mail1.conversation_id)).id,
        other_contact_ids=[
            b_sms.conversation.contact_id,
            (await s.messages.contact_for((await s.messages.get_message(b_mail_id)).conversation_id)).id,
        ],
    )
    seeded.conversation_ids = {sms1.conversation.id, mail1.conversation_id, chat1.conversation.id}
    seeded.inbound_ids = {sms1.message.id, mail1_id, chat1.message.id, sms2.message.id, mail2_id, sms3.message.id}
    seeded.decided_ids = {sms1.message.id, mail1_id, chat1.message.id, sms2.message.id, mail2_id}
    seeded.turned_ids = {sms1.message.id, mail1_id, chat1.message.id}
    seeded.note_texts = [note]
    seeded.feedback_ids = {fid}
    seeded.attachment_ids = {att.id for att in mail1.attachments}
    seeded.approved_message_ids = {approved.id, edited.id}
    b_mail = await s.messages.get_message(b_mail_id)
    seeded.other_ids = {b_sms.message.id, b_sms.conversation.id, b_mail_id, b_mail.conversation_id}
    return seeded


def _retrain_like_the_flow(stack: Stack) -> None:
    """What ``flows.ops.retrain_intents`` does with the corrections (its flow opens its own container)."""
    from services.intent_source import live_intent_model_dir
    from understanding import LabelledExample, demo_data_path, retrain
    from understanding.demo import DEMO_EVAL_CSV, DEMO_TRAIN_CSV

    rows = asyncio.run(_corrections(stack.settings))
    model_dir = stack.settings.model_dir
    retrain(
        base_data=demo_data_path(DEMO_TRAIN_CSV),
        feedback=[LabelledExample(text=r[0], label=r[1]) for r in rows],
        eval_data=demo_data_path(DEMO_EVAL_CSV),
        live_model_dir=live_intent_model_dir(model_dir),
        out_root=model_dir / "intents" / "candidates",
    )


async def _corrections(settings: object) -> list[tuple[str, str]]:
    from conversation.sql import Database, SqlFeedback

    db = Database(settings.sqlalchemy_url)  # type: ignore[attr-defined]
    try:
        return [(r["text"], r["label"]) for r in await SqlFeedback(db).list(kind="intent_correction")]
    finally:
        await db.dispose()
