"""D1: erase one customer seeded across every channel and store; then scan every store for their ten
identifiers (and their ids) with scanners independent of the erasure code, the audit log included (its
entries about A are redacted, and its hash chain still verifies). Zero matches; the other customer
intact; a receipt without personal data; a legal hold blocks."""

from __future__ import annotations

import json

from conversation.sql.receipts import ReceiptStatus, SqlLegalHolds
from services.gdpr_erase import Eraser, ErasureRefused
from services.gdpr_export import build_export
from services.gdpr_prefect import PrefectRestRuns
from tests.integration.gdpr.conftest import Stack
from tests.integration.gdpr.scan import hits_of, scan_files, scan_redis, scan_sqlite
from tests.integration.gdpr.seed import A, B, seed


def _b_needles() -> dict[str, str]:
    return {f"B.{k}": v for k, v in B.identifiers().items()}


async def _b_view(stack: Stack, contact_ids: list[str]) -> list[dict[str, object]]:
    out = []
    for cid in contact_ids:
        doc, _ = await build_export(stack.services, cid)
        dumped = doc.model_dump(mode="json")
        dumped.pop("generated_at")
        out.append(dumped)
    return out


async def _everything(stack: Stack, needles: dict[str, str]) -> dict[str, list[object]]:
    """Every store, scanned: SQL (every column of every table, and the raw database and WAL files), Redis
    (keys, values, members, stream and pending entries, and its AOF/RDB files), blobs and every other
    file under var/, Prefect's database (every column of every table)."""
    s = stack.services
    db_file = stack.var / "glassdesk.db"
    prefect_db = stack.prefect.database
    return {
        "sql": list(scan_sqlite(db_file, needles)),
        "redis": list(await scan_redis(s.redis, needles)),
        "redis_files": list(scan_files(stack.redis_dir, needles)),
        "var_files": list(scan_files(stack.var, needles, skip=[stack.var / "backoffice.db"])),
        "prefect": list(scan_sqlite(prefect_db, needles)),
    }


async def test_erasure_leaves_no_trace_of_the_customer_and_keeps_the_other(stack: Stack) -> None:
    s = stack.services
    seeded = await seed(stack)
    # what the agent desk, the admin API and the reconciler write about a customer (ids only)
    a_conversation, b_conversation = sorted(seeded.conversation_ids)[0], sorted(seeded.other_ids)[0]
    await s.audit.record(actor="agent1", action="conversation.viewed", object_id=a_conversation, data={"role": "agent"})
    await s.audit.record(actor="admin1", action="gdpr.exported", object_id=seeded.contact_id, data={})
    await s.audit.record(
        actor="system:reconciler", action="outbox.ambiguous", object_id="ob_x", data={"conversation_id": a_conversation}
    )
    await s.audit.record(actor="agent1", action="conversation.viewed", object_id=b_conversation, data={"role": "agent"})
    needles = A.identifiers()
    before = await _everything(stack, needles)
    # the seed really spread A everywhere the erasure has to reach
    assert {name for *_, name in before["sql"]} == set(needles), before["sql"]
    assert any(path.startswith("blobs/") for path, _ in before["var_files"])
    assert any(path.startswith("mail/") for path, _ in before["var_files"])
    assert any(path.startswith("sms/") for path, _ in before["var_files"])
    assert any(path.startswith("models/") and name == "canary" for path, name in before["var_files"]), (
        "the retrained intent model holds the corrected message's words"
    )
    records = await _records(stack, seeded.contact_id)
    id_needles = {f"id:{i}": i for i in records}
    assert {t for t, *_ in scan_sqlite(stack.var / "glassdesk.db", id_needles)} >= {"audit_log", "messages"}
    assert await scan_redis(s.redis, id_needles), "queue entries, markers, codes and locks name A's ids"
    assert await _eventually(lambda: scan_sqlite(stack.prefect.database, id_needles)), "task runs name A's message ids"
    assert [hit for hit in scan_files(stack.var / "log", id_needles)], "the app log names A's ids"
    b_before = await _b_view(stack, seeded.other_contact_ids)

    runs = PrefectRestRuns(stack.prefect.api_url)
    try:
        eraser = Eraser(s, runs=runs)
        try:
            await eraser.erase(seeded.contact_id, requested_by="admin1", approved_by="Admin1")
            raise AssertionError("the requester approved their own erasure")
        except ErasureRefused:
            pass
        outcome = await eraser.erase(seeded.contact_id, requested_by="admin1", approved_by="admin2")
    finally:
        await runs.aclose()

    receipt = outcome.receipt
    assert receipt is not None and receipt.status is ReceiptStatus.COMPLETED, outcome.public()
    counts = receipt.counts
    assert counts["notice.sent"] == 3  # SMS, email and chat: told before the data went
    assert counts["prefect.flow_runs"] >= 1 and counts["prefect.logs_left"] == 0
    assert counts["models.retrained"] == 1 and counts["blobs.deleted"] >= 2
    assert counts["redis.stream_entries"] >= 3 and counts["redis.pending_acked"] >= 1
    assert counts["sql.contacts"] == 3 and counts["sql.identity_merges"] == 2
    assert counts["sql.quarantine"] == 1  # A's quarantined auto-reply; B's stays
    assert len(await s.quarantine.open_items()) == 1
    assert counts["audit.entries_naming_identifiers"] == 0
    assert counts["audit.entries_redacted"] >= 3

    after = await _everything(stack, needles)
    assert after == {k: [] for k in after}, after
    # nor their ids: not in any table (the audit log's entries about A are redacted), nor in any file
    # (the database file and its WAL included: no stale page keeps them)
    assert await scan_redis(s.redis, id_needles) == []
    assert scan_sqlite(stack.var / "glassdesk.db", id_needles) == []
    assert scan_sqlite(stack.prefect.database, id_needles) == []
    assert scan_files(stack.var, id_needles) == []
    # the audit log keeps its entries and its chain: redacted, recorded as such, and verifiable
    chain = await s.audit.verify()
    assert chain.ok, chain.broken
    entries = await s.audit.entries(limit=1000)
    redacted = [e for e in entries if e["data"] == {"redacted_by": receipt.id}]
    assert {(e["actor"], e["action"]) for e in redacted} >= {
        ("agent1", "conversation.viewed"),
        ("admin1", "gdpr.exported"),
        ("system:reconciler", "outbox.ambiguous"),
    }
    assert any(e["action"] == "audit.redacted" and e["object_id"] == receipt.id for e in entries)
    assert any(e["object_id"] == b_conversation and e["data"] == {"role": "agent"} for e in entries)  # B's stays

    # the receipt: no personal data, not even the contact id
    stored = await eraser.receipts.get(receipt.id)
    assert stored.contact_id is None
    text = json.dumps(stored.public())
    assert not hits_of(text, needles) and not hits_of(text, id_needles)

    # the other customer is intact, in SQL, blobs and sinks, and their export is unchanged
    assert await _b_view(stack, seeded.other_contact_ids) == b_before
    b_left = await _everything(stack, _b_needles())
    assert {n for *_, n in b_left["sql"]} >= {"B.phone", "B.email", "B.iban", "B.canary", "B.attachment_sha256"}
    assert any(p.startswith("blobs/") for p, _ in b_left["var_files"])
    assert any(p.startswith("sms/") and n == "B.phone" for p, n in b_left["var_files"])


async def _records(stack: Stack, contact_id: str) -> set[str]:
    from conversation.sql.gdpr import SqlGdpr

    records = await SqlGdpr(stack.services.db).records(contact_id)
    return set(records.ids())


async def test_a_legal_hold_blocks_erasure_with_its_reason_until_released(stack: Stack) -> None:
    from conversation import ChannelKind, InboundMessage, PhoneAddress
    from services.ingest import Ingestor

    s = stack.services
    anna = await Ingestor(s).accept(
        InboundMessage(
            channel=ChannelKind.SMS,
            external_id="SM" + "c1" * 16,
            address=PhoneAddress(number="+4915112345678"),
            text="Hallo",
        )
    )
    contact = anna.conversation.contact_id
    await s.messages.link_backoffice(contact, customer_id="CUST-1001")  # the demo's Anna: claim awaiting documents
    hold = await SqlLegalHolds(s.db).place(contact, reason="case 2026-77 (court order)", placed_by="admin1")
    runs = PrefectRestRuns(stack.prefect.api_url)
    try:
        eraser = Eraser(s, runs=runs)
        blocked = await eraser.erase(contact, requested_by="admin1", approved_by="admin2")
        assert blocked.receipt is not None and blocked.receipt.status is ReceiptStatus.BLOCKED
        kinds = {h.kind.value for h in blocked.holds}
        assert kinds == {"manual", "open_claim"}, blocked.public()
        reasons = " ".join(h.reason for h in blocked.holds)
        assert "case 2026-77" in reasons and "is open in the back office" in reasons
        assert "court" not in blocked.receipt.detail and "CLM-" not in blocked.receipt.detail  # no case detail
        assert (await s.messages.get_conversation(anna.conversation.id)).id == anna.conversation.id  # nothing gone

        await SqlLegalHolds(s.db).release(hold.id, released_by="admin1")
        still = await eraser.approve(blocked.receipt.id, approved_by="admin2")
        assert still.receipt is not None and still.receipt.status is ReceiptStatus.BLOCKED
        assert {h.kind.value for h in still.holds} == {"open_claim"}
    finally:
        await runs.aclose()


async def _eventually(probe, timeout_s: float = 20.0):  # type: ignore[no-untyped-def]
    """Prefect's task-run recorder writes task runs about a second after the events arrive."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout_s
    while not (found := probe()) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    return found
