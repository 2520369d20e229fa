"""SQL of the retention schedule: what each data class holds past its period, counted (dry run) or
deleted. ``services.gdpr_retention`` decides the periods and handles blobs, Redis and files."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, delete, func, not_, or_, select, update

from conversation.enums import FeedbackKind
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.gdpr import chunks, delete_conversations
from conversation.sql.rows import aware
from conversation.sql.schema_customer import contact_merges

__all__ = ["SqlRetention", "ExpiredConversation", "ExpiredBlobs", "CLAIM_QUEUE", "CLAIM_INTENTS"]

CLAIM_QUEUE = "claims"
CLAIM_INTENTS = frozenset({"claim_report", "claim_status"})
_PURGED = "blobs_purged"  # messages.meta flag: this message's attachment bytes and raw email are gone
_DRAFT_FEEDBACK = (FeedbackKind.DRAFT_EDIT.value, FeedbackKind.DRAFT_REJECTED.value)


@dataclass(frozen=True, slots=True)
class ExpiredConversation:
    id: str
    contact_id: str
    claim: bool  # about an insurance claim: kept for the claims period instead


@dataclass(frozen=True, slots=True)
class ExpiredBlobs:
    message_ids: tuple[str, ...]
    quarantine_ids: tuple[str, ...]
    keys: frozenset[str]  # blob keys no younger row needs


class SqlRetention:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- conversations (messages and claims classes) ------------------------------------------------
    async def untouched_conversations(self, *, before: datetime) -> list[ExpiredConversation]:
        """Conversations not updated since ``before``, each marked claim-related or not."""
        cv, d = t.conversations, t.decisions
        async with self._db.read() as conn:
            rows = [
                (r.id, r.contact_id, r.queue)
                for r in await conn.execute(
                    select(cv.c.id, cv.c.contact_id, cv.c.queue).where(cv.c.updated_at < before)
                )
            ]
            claim_ids: set[str] = {cid for cid, _, queue in rows if queue == CLAIM_QUEUE}
            for batch in chunks([cid for cid, _, queue in rows if queue != CLAIM_QUEUE]):
                for r in await conn.execute(
                    select(d.c.conversation_id, d.c.record).where(d.c.conversation_id.in_(batch))
                ):
                    facts = (r.record or {}).get("facts") or {}
                    if facts.get("intent") in CLAIM_INTENTS or facts.get("claim_decision"):
                        claim_ids.add(r.conversation_id)
        return [ExpiredConversation(cid, contact, cid in claim_ids) for cid, contact, _ in rows]

    async def linked_contacts(self) -> dict[str, str | None]:
        """Contacts linked to a back-office customer: contact id -> customer id."""
        c = t.contacts
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(c.c.id, c.c.backoffice_customer_id).where(c.c.backoffice_customer_id.is_not(None))
            )
            return {r.id: r.backoffice_customer_id for r in rows}

    async def conversations_of(self, contact_ids: Collection[str]) -> frozenset[str]:
        cv = t.conversations
        out: set[str] = set()
        async with self._db.read() as conn:
            for batch in chunks(list(contact_ids)):
                out |= {str(r[0]) for r in await conn.execute(select(cv.c.id).where(cv.c.contact_id.in_(batch)))}
        return frozenset(out)

    async def delete_conversations(self, ids: list[str], *, dry_run: bool) -> dict[str, int]:
        if dry_run:
            return {"conversations": len(ids), "messages": await self._count_messages(ids)}
        async with self._db.begin() as conn:
            return await delete_conversations(conn, ids)

    async def _count_messages(self, ids: list[str]) -> int:
        m = t.messages
        total = 0
        async with self._db.read() as conn:
            for batch in chunks(ids):
                total += int(
                    (
                        await conn.execute(select(func.count()).select_from(m).where(m.c.conversation_id.in_(batch)))
                    ).scalar_one()
                )
        return total

    async def orphan_contacts(self, *, before: datetime, keep: Collection[str]) -> list[str]:
        """Contacts created before ``before`` that own no conversation any more (``keep``: held ones)."""
        c, cv = t.contacts, t.conversations
        owns = select(cv.c.id).where(cv.c.contact_id == c.c.id).exists()
        async with self._db.read() as conn:
            rows = await conn.execute(select(c.c.id).where(and_(c.c.created_at < before, not_(owns))))
            return [r.id for r in rows if r.id not in keep]

    async def contacts_left_without(self, conversation_ids: Collection[str]) -> set[str]:
        """Contacts of ``conversation_ids`` that own no other conversation (orphans once these go)."""
        cv = t.conversations
        doomed = set(conversation_ids)
        owners: dict[str, bool] = {}
        async with self._db.read() as conn:
            for batch in chunks(list(doomed)):
                for r in await conn.execute(select(cv.c.contact_id).where(cv.c.id.in_(batch))):
                    owners[r.contact_id] = True
            for batch in chunks(list(owners)):
                for r in await conn.execute(select(cv.c.id, cv.c.contact_id).where(cv.c.contact_id.in_(batch))):
                    if r.id not in doomed:
                        owners[r.contact_id] = False
        return {c for c, alone in owners.items() if alone}

    async def delete_contacts(self, ids: list[str], *, dry_run: bool) -> dict[str, int]:
        if dry_run:
            return {"contacts": len(ids)}
        ci, im, c, cm = t.channel_identities, t.identity_merges, t.contacts, contact_merges
        counts = {"channel_identities": 0, "identity_merges": 0, "contact_merges": 0, "contacts": 0}
        async with self._db.begin() as conn:
            for batch in chunks(ids):
                res = await conn.execute(delete(ci).where(ci.c.contact_id.in_(batch)))
                counts["channel_identities"] += res.rowcount
                counts["identity_merges"] += (
                    await conn.execute(
                        delete(im).where(or_(im.c.into_contact_id.in_(batch), im.c.from_contact_id.in_(batch)))
                    )
                ).rowcount
                counts["contact_merges"] += (  # the panel's merge records (what each merge moved)
                    await conn.execute(
                        delete(cm).where(or_(cm.c.into_contact_id.in_(batch), cm.c.from_contact_id.in_(batch)))
                    )
                ).rowcount
                counts["contacts"] += (await conn.execute(delete(c).where(c.c.id.in_(batch)))).rowcount
        return counts

    # -- drafts ---------------------------------------------------------------------------------------
    async def purge_drafts(
        self, *, before: datetime, keep_conversations: Collection[str], dry_run: bool
    ) -> dict[str, int]:
        """Drop draft texts from decision records (the decision stays) and draft feedback rows."""
        d, f = t.decisions, t.feedback
        with_draft = and_(d.c.created_at < before, cast(d.c.record, Text).contains('"draft_text"', autoescape=True))
        old_feedback = and_(f.c.created_at < before, f.c.kind.in_(_DRAFT_FEEDBACK))
        async with self._db.begin() as conn:
            rows = [
                (r.id, r.record)
                for r in await conn.execute(select(d.c.id, d.c.conversation_id, d.c.record).where(with_draft))
                if r.conversation_id not in keep_conversations
            ]
            rows = [(rid, rec) for rid, rec in rows if ((rec or {}).get("facts") or {}).get("draft_text")]
            feedback = [
                r.id
                for r in await conn.execute(select(f.c.id, f.c.conversation_id).where(old_feedback))
                if r.conversation_id not in keep_conversations
            ]
            if not dry_run:
                for rid, record in rows:
                    facts = {k: v for k, v in record["facts"].items() if k != "draft_text"}
                    facts["draft_purged"] = True
                    await conn.execute(update(d).where(d.c.id == rid).values(record={**record, "facts": facts}))
                for batch in chunks(feedback):
                    await conn.execute(delete(f).where(f.c.id.in_(batch)))
        return {"decision_drafts": len(rows), "draft_feedback": len(feedback)}

    # -- audit ----------------------------------------------------------------------------------------
    async def audit_past(self, *, before: datetime) -> int:
        """Audit entries older than ``before``. They are counted, not deleted: the log is append-only
        and hash-chained (migration 0005_security) and its triggers refuse DELETE."""
        a = t.audit_log
        async with self._db.read() as conn:
            query = select(func.count()).select_from(a).where(a.c.at < before)
            return int((await conn.execute(query)).scalar_one())

    # -- attachments ----------------------------------------------------------------------------------
    async def expired_blobs(self, *, before: datetime, keep_conversations: Collection[str]) -> ExpiredBlobs:
        """Attachment and raw-email blobs of messages received before ``before`` and quarantined mail of
        that age, minus any blob a younger message or quarantine entry (or a held conversation) uses."""
        m, q = t.messages, t.quarantine
        not_purged = not_(cast(m.c.meta, Text).contains(f'"{_PURGED}"', autoescape=True))
        has_blob = or_(
            cast(m.c.attachments, Text).contains("blob_key", autoescape=True),
            cast(m.c.meta, Text).contains('"raw_blob"', autoescape=True),
        )
        old_ids: list[str] = []
        old_keys: set[str] = set()
        young_keys: set[str] = set()
        async with self._db.read() as conn:
            for r in await conn.execute(
                select(m.c.id, m.c.conversation_id, m.c.created_at, m.c.attachments, m.c.meta).where(
                    and_(has_blob, not_purged)
                )
            ):
                keys = _blob_keys(r.attachments, r.meta)
                if (
                    r.created_at is not None
                    and _before(r.created_at, before)
                    and r.conversation_id not in keep_conversations
                ):
                    old_ids.append(r.id)
                    old_keys |= keys
                else:
                    young_keys |= keys
            quarantined: list[str] = []
            for r in await conn.execute(select(q.c.id, q.c.blob_key, q.c.created_at)):
                if _before(r.created_at, before):
                    quarantined.append(r.id)
                    old_keys.add(r.blob_key)
                else:
                    young_keys.add(r.blob_key)
        return ExpiredBlobs(tuple(old_ids), tuple(quarantined), frozenset(old_keys - young_keys))

    async def mark_blobs_purged(self, expired: ExpiredBlobs) -> dict[str, int]:
        """Flag the messages (their raw-email key dropped) and delete the quarantine rows."""
        m, q = t.messages, t.quarantine
        async with self._db.begin() as conn:
            for batch in chunks(expired.message_ids):
                rows = await conn.execute(select(m.c.id, m.c.meta).where(m.c.id.in_(batch)))
                for r in rows.all():
                    meta = {k: v for k, v in (r.meta or {}).items() if k != "raw_blob"}
                    meta[_PURGED] = True
                    await conn.execute(update(m).where(m.c.id == r.id).values(meta=meta))
            gone = 0
            for batch in chunks(expired.quarantine_ids):
                gone += (await conn.execute(delete(q).where(q.c.id.in_(batch)))).rowcount
        return {"messages": len(expired.message_ids), "quarantine": gone}

    async def blob_keys_in_use(self) -> frozenset[str]:
        """Every blob key a row still points at (messages' attachments and raw emails, quarantine)."""
        m, q = t.messages, t.quarantine
        keys: set[str] = set()
        async with self._db.read() as conn:
            for r in await conn.execute(select(m.c.attachments, m.c.meta)):
                keys |= _blob_keys(r.attachments, r.meta)
            keys |= {str(r.blob_key) for r in await conn.execute(select(q.c.blob_key))}
        return frozenset(keys)

    async def conversation_ids(self) -> frozenset[str]:
        async with self._db.read() as conn:
            return frozenset(str(r[0]) for r in await conn.execute(select(t.conversations.c.id)))


def _blob_keys(attachments: Any, meta: Any) -> set[str]:
    keys = {str(a["blob_key"]) for a in attachments or [] if isinstance(a, dict) and a.get("blob_key")}
    raw = (meta or {}).get("raw_blob") if isinstance(meta, dict) else None
    if raw:
        keys.add(str(raw))
    return keys


def _before(ts: datetime, cutoff: datetime) -> bool:
    return aware(ts) < cutoff
