"""D3: the retention schedule. The clock moves past each period (``now=`` into the purge, never a patched
clock): what expired is gone, the rest is kept, a held contact is kept, and every dry run announces
exactly what the purge then does. And after a realistic run every Redis key has a TTL unless its class
is declared without one, and every key's class is in the Art. 30 record."""

from __future__ import annotations

import datetime as dt
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from conversation import ChannelKind, InboundMessage, PhoneAddress, TurnRef, utcnow
from conversation.sql.receipts import ReceiptStatus, SqlLegalHolds
from services.agent_desk import AgentDesk
from services.email_ingest import EmailIngest
from services.gdpr_erase import Eraser
from services.gdpr_prefect import MemoryFlowRuns
from services.gdpr_redis import key_class
from services.gdpr_retention import RetentionPurge
from services.gdpr_ropa import build_ropa
from services.ingest import Ingestor
from services.reconciler import Reconciler
from tests.integration.gdpr.conftest import Stack
from tests.integration.gdpr.seed import AGENT, _draft, _drain, seed


def _mail(sender: str, *, attach: bytes | None, auto: bool = False, message_id: str) -> bytes:
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = f"Paula Purge <{sender}>"
    msg["To"] = "support@glassdesk.local"
    msg["Subject"] = "Vertrag"
    msg["Message-ID"] = message_id
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("Ich moechte meinen Vertrag aendern.")
    if attach is not None:
        msg.add_attachment(attach, maintype="application", subtype="pdf", filename="vertrag.pdf")
    return msg.as_bytes()


def _sms(number: str, sid: str) -> InboundMessage:
    return InboundMessage(channel=ChannelKind.SMS, external_id=sid, address=PhoneAddress(number=number), text="Hallo")


def _nonzero(counts: dict[str, Any]) -> dict[str, Any]:
    """The classes and figures of a report that are not zero."""
    out: dict[str, Any] = {}
    for cls, figures in counts.items():
        if isinstance(figures, dict):
            inner = {k: v for k, v in figures.items() if v}
            if inner:
                out[cls] = inner
    return out


async def test_each_class_goes_after_its_period_and_the_rest_stays(stack: Stack) -> None:
    s = stack.services
    stack.relay.start()
    ingest, mail, desk = Ingestor(s), EmailIngest(s), AgentDesk(s)
    paula_id = await mail.accept(
        ["support@glassdesk.local"],
        _mail("paula.purge@example.org", attach=b"%PDF " * 50, message_id="<paula-1@example.org>"),
    )
    paula = await s.messages.get_message(paula_id)
    await mail.accept(
        ["support@glassdesk.local"],
        _mail("robot@example.org", attach=None, auto=True, message_id="<auto-1@example.org>"),
    )
    assert len(await s.quarantine.open_items()) == 1
    await _drain(stack)
    await _draft(stack, paula.conversation_id, paula_id, "Liebe Frau Purge, Ihr Vertrag wird geaendert.")
    await desk.send_edited(paula.conversation_id, "Guten Tag Frau Purge, der Vertrag ist geaendert.", actor=AGENT)
    claim = await ingest.accept(_sms("+4915790000001", "SM" + "d1" * 16))
    await s.messages.route_conversation(claim.conversation.id, claim.conversation.status, queue="claims")
    held = await ingest.accept(_sms("+4915790000002", "SM" + "d2" * 16))
    hold = await SqlLegalHolds(s.db).place(held.conversation.contact_id, reason="case 12", placed_by="admin1")
    gone = await ingest.accept(_sms("+4915790000003", "SM" + "d3" * 16))
    receipt = (
        await Eraser(s, runs=MemoryFlowRuns()).erase(
            gone.conversation.contact_id, requested_by="admin1", approved_by="admin2"
        )
    ).receipt
    assert receipt is not None and receipt.status is ReceiptStatus.COMPLETED
    await s.queue.enqueue(TurnRef(message_id=claim.message.id, conversation_id=claim.conversation.id))
    (delivery, *_) = await s.queue.read("retention-test", count=1, block_ms=0)
    await s.queue.dead_letter(delivery, reason="test")
    async with s.locks.hold(paula.conversation_id):
        pass  # leaves the conversation's fencing counter (no TTL)
    (stack.var / "rpa-screenshots").mkdir()
    (stack.var / "rpa-screenshots" / "claims-portal-1.png").write_bytes(b"\x89PNG")
    assert (stack.var / "log" / "glassdesk.log").read_text().strip()
    assert list((stack.var / "mail").iterdir())

    t0 = utcnow()
    runs = MemoryFlowRuns([{"id": "run-1", "parameters": {"message_ids": [paula_id]}, "end_time": t0}])
    purge = RetentionPurge(s, runs=runs)

    async def step(days: int) -> dict[str, Any]:
        """Dry run, purge, dry run again: the first announces exactly what the purge does, the last finds
        nothing more."""
        at = t0 + dt.timedelta(days=days, minutes=1)
        planned = _nonzero((await purge.run(now=at, dry_run=True)).counts)
        done = _nonzero((await purge.run(now=at, dry_run=False)).counts)
        for cls, figures in planned.items():  # the dry run announced exactly this
            assert {k: done.get(cls, {}).get(k) for k in figures} == figures, (cls, planned, done)
        again = _nonzero((await purge.run(now=at, dry_run=True)).counts)
        audit_only = {"audit": {"entries_past_period": again.get("audit", {}).get("entries_past_period")}}
        assert again in ({}, audit_only), again
        return {"planned": planned, "done": done}

    assert _nonzero((await purge.run(now=t0, dry_run=True)).counts) == {}

    r = await step(15)  # the queue class (14 days)
    assert set(r["planned"]) == {"queue"} and r["planned"]["queue"]["stream_entries"] >= 4
    assert r["planned"]["queue"]["prefect_flow_runs"] == 1 and runs.runs == {}
    assert await s.redis.xlen("gd:turns") == 0 and await s.redis.xlen("gd:turns:dead") == 0
    assert await s.redis.exists(f"gd:lock:conv:{paula.conversation_id}:fence")  # its conversation still exists

    r = await step(31)  # app logs and screenshots (30 days); sinks wait for the messages period
    assert set(r["planned"]) == {"logs"} and r["planned"]["logs"]["screenshots"] == 1
    assert r["planned"]["logs"]["log_lines"] == r["done"]["logs"]["log_lines"] > 0
    assert not (stack.var / "log" / "glassdesk.log").read_text().strip()
    assert list((stack.var / "mail").iterdir())

    r = await step(181)  # drafts (180 days): the text goes, the decision stays
    assert r["planned"] == r["done"] == {"drafts": {"decision_drafts": 1, "draft_feedback": 1}}
    record = await s.timeline.decision_for(paula_id)
    assert record is not None and "draft_text" not in record.facts and record.facts["draft_purged"]
    assert record.reason and record.rule_id

    r = await step(366)  # attachments (365 days): bytes and raw mail and quarantine go, messages stay
    assert r["planned"]["attachments"] == {"blobs": 3, "messages": 1, "quarantine": 1}
    assert set(r["planned"]) == {"attachments"}
    assert not [p for p in s.settings.blob_dir.rglob("*") if p.is_file()]
    assert (await s.messages.get_message(paula_id)).attachments  # metadata kept
    assert await s.quarantine.open_items() == []

    r = await step(731)  # messages (730 days): Paula's conversation and contact; not the claim, not the held one
    assert r["planned"]["messages"]["conversations"] == 1 and r["planned"]["contacts"]["contacts"] == 1
    assert r["planned"]["logs"]["mail_files"] >= 1
    assert not list((stack.var / "mail").iterdir())
    assert await s.redis.exists(f"gd:lock:conv:{paula.conversation_id}:fence") == 0  # orphaned counter dropped
    assert (await s.messages.get_conversation(claim.conversation.id)).id
    assert (await s.messages.get_conversation(held.conversation.id)).id

    r = await step(1096)  # audit (1095 days): counted, never deleted (append-only, hash-chained)
    assert r["done"]["audit"]["entries_past_period"] > 0 and "deleted" not in r["done"]["audit"]
    assert (await s.audit.verify()).ok

    r = await step(3651)  # claims and receipts (3650 days); the held contact stays
    assert r["planned"]["claims"]["conversations"] == 1 and r["planned"]["receipts"]["receipts"] == 1
    assert (await s.messages.get_conversation(held.conversation.id)).id
    await SqlLegalHolds(s.db).release(hold.id, released_by="admin1")
    r = await step(3651)
    assert r["planned"]["messages"]["conversations"] == 1 and r["planned"]["contacts"]["contacts"] == 1


async def test_every_redis_key_has_a_ttl_unless_its_class_is_declared_without(stack: Stack) -> None:
    s = stack.services
    seeded = await seed(stack)
    lost = await Ingestor(s).accept(_sms("+4915790000009", "SM" + "e1" * 16))  # never run: the reconciler requeues
    await _drain(stack)
    report = await Reconciler(s).run_once(now=utcnow() + dt.timedelta(minutes=10))
    assert lost.message.id in report.requeued
    chats = [c for c in seeded.conversation_ids if (await s.messages.get_conversation(c)).channel is ChannelKind.CHAT]
    (chat,) = chats
    await AgentDesk(s).reply(chat, "Wir melden uns.", client_id="9b2f6c1e-0000-4000-8000-000000000001", actor=AGENT)

    keys = sorted([k async for k in s.redis.scan_iter(count=500)])
    undeclared = [k for k in keys if key_class(k) is None]
    assert undeclared == [], "declare these in services.gdpr_redis.REDIS_KEYS (with their TTL)"
    without_ttl = {k: key_class(k) for k in keys if await s.redis.ttl(k) == -1}
    promised = {k: c.pattern for k, c in without_ttl.items() if c is not None and c.ttl_s is not None}
    assert promised == {}, f"keys whose class promises a TTL have none: {promised}"
    seen = {c.pattern for k in keys if (c := key_class(k)) is not None}
    # the run touched the classes it should have
    assert {
        "gd:turns",
        "gd:turns:dead",
        "gd:enqueued:*",
        "gd:requeued:*",
        "gd:otp:*",
        "gd:rl:*",
        "gd:desk:reply:*",
        "gd:lock:conv:*:fence",
    } <= seen, seen
    ropa = build_ropa(s.settings)
    assert {f"Redis {p}" for p in seen} <= {store.name for store in ropa.stores}
    # and every file the run left under var/ belongs to a store the record declares (the secrets and var/run,
    # the embedded Redis's URL, hold no personal data)
    declared = {Path(where).name for store in ropa.stores for where in store.where.split(", ")}
    undeclared_files = sorted(
        p.name
        for p in stack.var.iterdir()
        if p.name not in {"secret.key", "prefect-auth.key", "run"}
        and not any(p.name.startswith(d) for d in declared if d)
    )
    assert undeclared_files == [], f"declare these stores in services.gdpr_ropa: {undeclared_files}"
