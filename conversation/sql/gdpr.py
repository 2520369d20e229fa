"""SQL for data-subject rights: everything the system of record holds about one contact, read in one
snapshot (Art. 15/20 export) and deleted in one transaction (Art. 17 erasure).

A contact's data is the contact row, its identities and merges (with their undo records), every
conversation it owns with the messages, timeline events (internal notes included), decision records,
outbox entries, outcomes (survey answers), handoff reasons and SLA clocks in them, the feedback rows
that name those conversations or messages, and the audit entries that name any of its ids. Contacts
merged into it are the same person and come with it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, Text, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from conversation.errors import NotFound
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.outcomes import delete_outcomes
from conversation.sql.schema_customer import contact_merges
from conversation.sql.schema_outcomes import outcomes as outcomes_table
from conversation.sql.schema_sla import desk_state_log, sla_clocks

__all__ = ["SqlGdpr", "SubjectRecords", "delete_conversations", "chunks"]

_CHUNK = 400  # ids per IN (...) list: inside SQLite's and asyncpg's bind limits
_MAX_MERGE_DEPTH = 32
Row = dict[str, Any]


def chunks(ids: Iterable[str], size: int = _CHUNK) -> Iterator[list[str]]:
    batch: list[str] = []
    for value in ids:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class SubjectRecords:
    """Every row of one data subject, as plain mappings (the export and the erasure read them)."""

    contact_id: str  # the surviving contact the request resolved to
    contact_ids: tuple[str, ...]  # it and every contact merged into it
    contacts: tuple[Row, ...]
    identities: tuple[Row, ...]
    merges: tuple[Row, ...]
    conversations: tuple[Row, ...]
    messages: tuple[Row, ...]
    events: tuple[Row, ...]
    decisions: tuple[Row, ...]
    outbox: tuple[Row, ...]
    feedback: tuple[Row, ...]
    audit: tuple[Row, ...]
    holds: tuple[Row, ...]
    outcomes: tuple[Row, ...] = ()  # one per resolution: the survey and the customer's answer
    merge_records: tuple[Row, ...] = ()  # contact_merges: what each merge moved, and its undo

    @property
    def conversation_ids(self) -> tuple[str, ...]:
        return tuple(r["id"] for r in self.conversations)

    @property
    def message_ids(self) -> tuple[str, ...]:
        return tuple(r["id"] for r in self.messages)

    def ids(self) -> frozenset[str]:
        """Every opaque id and token that points at this subject (what queues, logs and flow runs name)."""
        out: set[str] = set(self.contact_ids)
        for rows in (
            self.identities,
            self.merges,
            self.messages,
            self.events,
            self.decisions,
            self.outbox,
            self.feedback,
            self.outcomes,
        ):
            out.update(r["id"] for r in rows)
        for conv in self.conversations:
            out.update((conv["id"], conv["status_token"], conv["reply_token"]))
        out.update(str(r["provider_id"]) for r in self.outbox if r.get("provider_id"))
        out.update(str(r["external_id"]) for r in self.messages if r.get("external_id"))
        return frozenset(out)


class SqlGdpr:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def resolve(self, contact_id: str) -> str:
        """The contact that holds ``contact_id``'s data now: itself, or the one it was merged into."""
        im = t.identity_merges
        async with self._db.read() as conn:
            if (await conn.execute(select(t.contacts.c.id).where(t.contacts.c.id == contact_id))).first() is None:
                raise NotFound(f"contact {contact_id} does not exist (or was erased)")
            current = contact_id
            for _ in range(_MAX_MERGE_DEPTH):
                row = (
                    await conn.execute(select(im.c.into_contact_id).where(im.c.from_contact_id == current).limit(1))
                ).first()
                if row is None:
                    return current
                current = str(row[0])
        raise ValueError(f"contact {contact_id}: merge chain longer than {_MAX_MERGE_DEPTH}; check identity_merges")

    async def records(self, contact_id: str) -> SubjectRecords:
        """Everything about the person behind ``contact_id`` (merged contacts included)."""
        root = await self.resolve(contact_id)
        async with self._db.read() as conn:
            contact_ids = await _merged_into(conn, root)
            contacts = await _rows(conn, t.contacts, t.contacts.c.id, contact_ids)
            identities = await _rows(conn, t.channel_identities, t.channel_identities.c.contact_id, contact_ids)
            im = t.identity_merges
            merges = [
                dict(r._mapping)
                for batch in chunks(contact_ids)
                for r in await conn.execute(
                    select(im)
                    .where(or_(im.c.from_contact_id.in_(batch), im.c.into_contact_id.in_(batch)))
                    .order_by(im.c.created_at)
                )
            ]
            conversations = await _rows(
                conn, t.conversations, t.conversations.c.contact_id, contact_ids, order=t.conversations.c.created_at
            )
            conv_ids = [c["id"] for c in conversations]
            messages = await _rows(
                conn, t.messages, t.messages.c.conversation_id, conv_ids, order=t.messages.c.created_at
            )
            msg_ids = [m["id"] for m in messages]
            events = await _rows(conn, t.events, t.events.c.conversation_id, conv_ids, order=t.events.c.occurred_at)
            decisions = await _rows(
                conn, t.decisions, t.decisions.c.conversation_id, conv_ids, order=t.decisions.c.created_at
            )
            outbox = await _rows(conn, t.outbox, t.outbox.c.message_id, msg_ids)
            feedback = _unique(
                [
                    *await _rows(conn, t.feedback, t.feedback.c.conversation_id, conv_ids),
                    *await _rows(conn, t.feedback, t.feedback.c.message_id, msg_ids),
                ]
            )
            holds = await _rows(conn, t.legal_holds, t.legal_holds.c.contact_id, contact_ids)
            outcomes = await _rows(
                conn, outcomes_table, outcomes_table.c.conversation_id, conv_ids, order=outcomes_table.c.resolved_at
            )
            merge_records = await _contact_merges(conn, contact_ids)
            named = [
                *contact_ids,
                *conv_ids,
                *msg_ids,
                *(f["id"] for f in feedback),
                *(i["id"] for i in identities),
                *(o["id"] for o in outbox),
            ]
            audit = await _audit_naming(conn, named)
        return SubjectRecords(
            contact_id=root,
            contact_ids=tuple(contact_ids),
            contacts=tuple(contacts),
            identities=tuple(identities),
            merges=tuple(merges),
            conversations=tuple(conversations),
            messages=tuple(messages),
            events=tuple(events),
            decisions=tuple(decisions),
            outbox=tuple(outbox),
            feedback=tuple(feedback),
            audit=tuple(audit),
            holds=tuple(holds),
            outcomes=tuple(outcomes),
            merge_records=tuple(merge_records),
        )

    async def erase(self, records: SubjectRecords, *, quarantine_ids: Sequence[str] = ()) -> dict[str, int]:
        """Delete the subject's rows in one transaction; returns rows per table. The audit log is
        append-only and hash-chained (``conversation.sql.audit``): its entries stay as they are; they
        carry ids and counts only, which point at nothing once these rows are gone."""
        contact_ids = list(records.contact_ids)
        counts: dict[str, int] = {}
        async with self._db.begin() as conn:
            counts |= await delete_conversations(
                conn, list(records.conversation_ids), feedback_ids=[f["id"] for f in records.feedback]
            )
            ci, im = t.channel_identities, t.identity_merges
            counts["channel_identities"] = await _delete(conn, ci, ci.c.contact_id, contact_ids)
            merged = 0
            for batch in chunks(contact_ids):
                res = await conn.execute(
                    delete(im).where(or_(im.c.from_contact_id.in_(batch), im.c.into_contact_id.in_(batch)))
                )
                merged += res.rowcount
            counts["identity_merges"] = merged
            cm = contact_merges
            undo = 0  # every merge record naming one of them, undone ones included (the other side's too)
            for batch in chunks(contact_ids):
                res = await conn.execute(
                    delete(cm).where(or_(cm.c.from_contact_id.in_(batch), cm.c.into_contact_id.in_(batch)))
                )
                undo += res.rowcount
            counts["contact_merges"] = undo
            counts["legal_holds"] = await _delete(conn, t.legal_holds, t.legal_holds.c.contact_id, contact_ids)
            counts["contacts"] = await _delete(conn, t.contacts, t.contacts.c.id, contact_ids)
            counts["quarantine"] = await _delete(conn, t.quarantine, t.quarantine.c.id, list(quarantine_ids))
            er = t.erasure_receipts
            for batch in chunks(contact_ids):
                await conn.execute(update(er).where(er.c.contact_id.in_(batch)).values(contact_id=None))
        return counts

    async def blob_keys_used_elsewhere(
        self, keys: Iterable[str], *, conversation_ids: Sequence[str], quarantine_ids: Sequence[str] = ()
    ) -> set[str]:
        """Of ``keys`` (content hashes: two customers may send the same file), those a message outside
        ``conversation_ids`` or a quarantine entry not in ``quarantine_ids`` still points at."""
        m, q = t.messages, t.quarantine
        mine = set(conversation_ids)
        used: set[str] = set()
        async with self._db.read() as conn:
            for key in keys:
                named = or_(
                    cast(m.c.attachments, Text).contains(key, autoescape=True),
                    cast(m.c.meta, Text).contains(key, autoescape=True),
                )
                rows = await conn.execute(select(m.c.conversation_id).where(named))
                if any(r.conversation_id not in mine for r in rows):
                    used.add(key)
            for batch in chunks(list(keys)):
                rows = await conn.execute(select(q.c.id, q.c.blob_key).where(q.c.blob_key.in_(batch)))
                used |= {str(r.blob_key) for r in rows if r.id not in quarantine_ids}
        return used

    async def quarantine_entries(self) -> list[Row]:
        async with self._db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(select(t.quarantine))]

    async def compact(self) -> bool:
        """Make deleted rows unreadable on disk too. SQLite keeps deleted and overwritten rows in free pages
        and in the WAL: VACUUM rebuilds the file and a TRUNCATE checkpoint empties the WAL. True when done
        (False on PostgreSQL: dead tuples stay until autovacuum reuses their space, and in WAL archives)."""
        if not self._db.is_sqlite:
            return False
        async with self._db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection  # aiosqlite: outside SQLAlchemy's BEGIN (VACUUM refuses one)
            await driver.execute("VACUUM")
            await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return True

    async def audit_naming(self, ids: Iterable[str]) -> list[Row]:
        """Audit entries whose object or data names one of ``ids`` (a second pass after the erasure)."""
        async with self._db.read() as conn:
            return await _audit_naming(conn, list(ids))


async def delete_conversations(
    conn: AsyncConnection, conversation_ids: list[str], *, feedback_ids: Sequence[str] = ()
) -> dict[str, int]:
    """Delete conversations with everything in them (children first). Shared with retention."""
    m, f = t.messages, t.feedback
    message_ids = [
        str(r[0])
        for batch in chunks(conversation_ids)
        for r in await conn.execute(select(m.c.id).where(m.c.conversation_id.in_(batch)))
    ]
    counts = {"feedback": await _delete(conn, f, f.c.id, list(feedback_ids))}
    counts["feedback"] += await _delete(conn, f, f.c.conversation_id, conversation_ids)
    counts["feedback"] += await _delete(conn, f, f.c.message_id, message_ids)
    counts["decisions"] = await _delete(conn, t.decisions, t.decisions.c.conversation_id, conversation_ids)
    counts["outbox"] = await _delete(conn, t.outbox, t.outbox.c.message_id, message_ids)
    counts["events"] = await _delete(conn, t.events, t.events.c.conversation_id, conversation_ids)
    counts |= await delete_outcomes(conn, conversation_ids)
    # the foreign keys cascade too; deleted here so the count is known and no PRAGMA is relied on
    counts["sla_clocks"] = await _delete(conn, sla_clocks, sla_clocks.c.conversation_id, conversation_ids)
    counts["desk_state_log"] = await _delete(conn, desk_state_log, desk_state_log.c.conversation_id, conversation_ids)
    counts["messages"] = await _delete(conn, m, m.c.conversation_id, conversation_ids)
    counts["conversations"] = await _delete(conn, t.conversations, t.conversations.c.id, conversation_ids)
    return counts


async def _delete(conn: AsyncConnection, table: Table, column: Any, ids: list[str]) -> int:
    total = 0
    for batch in chunks(ids):
        total += (await conn.execute(delete(table).where(column.in_(batch)))).rowcount
    return total


async def _rows(
    conn: AsyncConnection, table: Table, column: Any, ids: Sequence[str], *, order: Any = None
) -> list[Row]:
    out: list[Row] = []
    for batch in chunks(ids):
        query = select(table).where(column.in_(batch))
        out += [dict(r._mapping) for r in await conn.execute(query)]
    if order is not None:
        key = order.key
        out.sort(key=lambda r: (r[key] is None, str(r[key])))
    return out


async def _merged_into(conn: AsyncConnection, root: str) -> list[str]:
    """``root`` and every contact merged into it, directly or through others."""
    im = t.identity_merges
    found, frontier = [root], [root]
    for _ in range(_MAX_MERGE_DEPTH):
        rows = [
            str(r[0])
            for batch in chunks(frontier)
            for r in await conn.execute(select(im.c.from_contact_id).where(im.c.into_contact_id.in_(batch)))
        ]
        frontier = [c for c in rows if c not in found]
        if not frontier:
            break
        found += frontier
    return found


async def _contact_merges(conn: AsyncConnection, contact_ids: list[str]) -> list[Row]:
    cm = contact_merges
    found: dict[str, Row] = {}
    for batch in chunks(contact_ids):
        query = select(cm).where(or_(cm.c.from_contact_id.in_(batch), cm.c.into_contact_id.in_(batch)))
        for r in await conn.execute(query):
            found[r.merge_id] = dict(r._mapping)
    return sorted(found.values(), key=lambda r: str(r["created_at"]))


async def _audit_naming(conn: AsyncConnection, ids: list[str]) -> list[Row]:
    a = t.audit_log
    out: dict[str, Row] = {}
    for batch in chunks(ids, 100):
        named = (cast(a.c.data, Text).contains(i, autoescape=True) for i in batch)
        query = select(a).where(or_(a.c.object_id.in_(batch), *named))
        for r in await conn.execute(query):
            out[r.id] = dict(r._mapping)
    return sorted(out.values(), key=lambda r: str(r["at"]))


def _unique(rows: list[Row]) -> list[Row]:
    seen: dict[str, Row] = {}
    for r in rows:
        seen.setdefault(r["id"], r)
    return sorted(seen.values(), key=lambda r: str(r["created_at"]))
