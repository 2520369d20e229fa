"""The audit log: who read or changed what. Append-only and hash-chained.

Entry ``seq`` (1, 2, 3, … without gaps) stores ``prev_hash``, the hash of entry ``seq - 1`` (64 zeros
for the first), and ``hash = sha256(canonical JSON of the entry including prev_hash)``. Changing,
deleting or reordering any entry breaks the chain at that entry, and :meth:`SqlAuditLog.verify` names
the first broken one. Removing entries from the end leaves a shorter, intact chain: compare the head
(``seq`` and ``hash``) with one noted earlier (``verify(anchor=...)``, ``glassdesk audit verify --expect``).

Appends are serialized in the write transaction, so two writers never fork the chain: SQLite has one
writer at a time (``BEGIN IMMEDIATE``), PostgreSQL takes a transaction-scoped advisory lock before it
reads the head. Database triggers (migration ``0005_security``) refuse UPDATE and DELETE.

Record ids, names and counts, never message text, passwords or addresses of customers.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware

__all__ = [
    "SqlAuditLog",
    "AuditEntry",
    "ChainBreak",
    "ChainReport",
    "BreakKind",
    "GENESIS_HASH",
    "entry_hash",
    "append_entry",
    "check_entry",
]

GENESIS_HASH = "0" * 64
HASH_VERSION = 1  # part of every hashed document: a future format change stays verifiable
_PG_APPEND_LOCK = 0x67_64_61_75_64_69_74  # pg_advisory_xact_lock key of audit appends ("gdaudit")
_VERIFY_PAGE = 1_000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    id: str
    actor: str
    action: str
    object_id: str | None
    data: dict[str, Any]
    at: datetime
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "actor": self.actor,
            "action": self.action,
            "object_id": self.object_id,
            "data": self.data,
            "at": self.at,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@enum.unique
class BreakKind(enum.StrEnum):
    GAP = "gap"  # the entry's seq is not the next number: entries before it were deleted or moved
    UNLINKED = "unlinked"  # its prev_hash is not the previous entry's hash: the previous one was replaced
    ALTERED = "altered"  # its hash does not match its content: it was changed after it was written
    ANCHOR_CHANGED = "anchor_changed"  # the noted head entry now has another hash
    TRUNCATED = "truncated"  # the log ends before the noted head entry: entries were removed from the end


@dataclass(frozen=True, slots=True)
class ChainBreak:
    seq: int
    entry_id: str | None
    kind: BreakKind
    detail: str

    def __str__(self) -> str:
        where = f"entry {self.seq}" + (f" ({self.entry_id})" if self.entry_id else "")
        return f"{where}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    entries: int
    head_seq: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _stamp(at: datetime) -> str:
    return aware(at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    *,
    seq: int,
    entry_id: str,
    actor: str,
    action: str,
    object_id: str | None,
    data: Mapping[str, Any],
    at: datetime,
    prev_hash: str,
) -> str:
    """sha256 over the canonical JSON of one entry (sorted keys, no spaces, ASCII) and ``prev_hash``."""
    document = {
        "v": HASH_VERSION,
        "seq": seq,
        "id": entry_id,
        "actor": actor,
        "action": action,
        "object_id": object_id,
        "data": data,
        "at": _stamp(at),
        "prev": prev_hash,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def append_entry(
    conn: AsyncConnection, *, actor: str, action: str, object_id: str | None, data: Mapping[str, Any]
) -> AuditEntry:
    """Append one entry inside the caller's write transaction (``Database.begin()``), after every
    other append that committed before it."""
    if conn.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE already made this the only writer
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_APPEND_LOCK})
    head = (
        await conn.execute(select(t.audit_log.c.seq, t.audit_log.c.hash).order_by(t.audit_log.c.seq.desc()).limit(1))
    ).first()
    seq, prev = (int(head.seq) + 1, str(head.hash)) if head is not None else (1, GENESIS_HASH)
    stored: dict[str, Any] = json.loads(json.dumps(dict(data)))  # exactly what reading the row gives back
    entry_id, at = new_id("au"), utcnow()
    actor, action, object_id = actor[:64], action[:64], object_id[:64] if object_id is not None else None
    digest = entry_hash(
        seq=seq, entry_id=entry_id, actor=actor, action=action, object_id=object_id, data=stored, at=at, prev_hash=prev
    )
    await conn.execute(
        insert(t.audit_log).values(
            id=entry_id,
            seq=seq,
            actor=actor,
            action=action,
            object_id=object_id,
            data=stored,
            at=at,
            prev_hash=prev,
            hash=digest,
        )
    )
    return AuditEntry(seq, entry_id, actor, action, object_id, stored, at, prev, digest)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=int(row.seq),
        id=row.id,
        actor=row.actor,
        action=row.action,
        object_id=row.object_id,
        data=row.data,
        at=aware(row.at),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def check_entry(entry: AuditEntry, *, expected_seq: int, prev_hash: str) -> ChainBreak | None:
    """Whether ``entry`` continues a chain whose last entry was ``expected_seq - 1`` with ``prev_hash``."""
    if entry.seq != expected_seq:
        if entry.seq < expected_seq:
            detail = f"it should be entry {expected_seq}: entries were renumbered"
        else:
            missing = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}-{entry.seq - 1}"
            detail = f"entry {missing} is missing before it: deleted, or entries were renumbered"
        return ChainBreak(entry.seq, entry.id, BreakKind.GAP, detail)
    if entry.prev_hash != prev_hash:
        return ChainBreak(
            entry.seq,
            entry.id,
            BreakKind.UNLINKED,
            f"its prev_hash does not match entry {entry.seq - 1}: that entry was changed, replaced or moved",
        )
    digest = entry_hash(
        seq=entry.seq,
        entry_id=entry.id,
        actor=entry.actor,
        action=entry.action,
        object_id=entry.object_id,
        data=entry.data,
        at=entry.at,
        prev_hash=entry.prev_hash,
    )
    if digest != entry.hash:
        return ChainBreak(
            entry.seq,
            entry.id,
            BreakKind.ALTERED,
            "its content does not match its hash: it was changed after it was written",
        )
    return None


class SqlAuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, *, actor: str, action: str, object_id: str | None, data: Mapping[str, Any]) -> AuditEntry:
        """Append one entry in its own transaction. ``action`` is a dotted name (``policy.published``,
        ``conversation.viewed``); ``data`` is JSON: ids and counts, no personal data."""
        async with self._db.begin() as conn:
            return await append_entry(conn, actor=actor, action=action, object_id=object_id, data=data)

    async def entries(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """The newest entries first."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(t.audit_log).order_by(t.audit_log.c.seq.desc()).limit(limit))
            return [_entry(r).to_dict() for r in rows]

    async def verify(self, *, anchor: tuple[int, str] | None = None) -> ChainReport:
        """Walk the whole chain in order; the first broken entry, if any. ``anchor`` is a head
        ``(seq, hash)`` noted earlier: it must still be there, unchanged."""
        expected, prev, count = 1, GENESIS_HASH, 0
        after: int | None = None  # keyset paging; the first page starts below 1, so no row escapes the walk
        while True:
            query = select(t.audit_log).order_by(t.audit_log.c.seq).limit(_VERIFY_PAGE)
            if after is not None:
                query = query.where(t.audit_log.c.seq > after)
            async with self._db.read() as conn:
                rows = list(await conn.execute(query))
            for row in rows:
                after = int(row.seq)
                entry = _entry(row)
                broken = check_entry(entry, expected_seq=expected, prev_hash=prev)
                if broken is None and anchor is not None and entry.seq == anchor[0] and entry.hash != anchor[1]:
                    broken = ChainBreak(
                        entry.seq,
                        entry.id,
                        BreakKind.ANCHOR_CHANGED,
                        f"its hash is {entry.hash[:16]}…, not the {anchor[1][:16]}… noted earlier",
                    )
                if broken is not None:
                    return ChainReport(count, expected - 1, prev, broken)
                expected, prev, count = entry.seq + 1, entry.hash, count + 1
            if len(rows) < _VERIFY_PAGE:
                break
        if anchor is not None and anchor[0] > count:
            return ChainReport(
                count,
                count,
                prev,
                ChainBreak(
                    anchor[0],
                    None,
                    BreakKind.TRUNCATED,
                    f"the log ends at entry {count}, but entry {anchor[0]} was noted earlier: entries were removed "
                    "from the end",
                ),
            )
        return ChainReport(count, count, prev, None)
