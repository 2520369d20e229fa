"""The audit log: who read or changed what. Append-only and hash-chained.

Entry ``seq`` (1, 2, 3, … without gaps) stores ``prev_hash``, the hash of entry ``seq - 1`` (64 zeros
for the first), ``data_digest``, the sha256 of its *details* (``actor``, ``object_id`` and ``data``),
and ``hash = sha256(canonical JSON of seq, id, action, at, data_digest and prev_hash)`` (hash version 2,
migration ``0006_audit_digest``). Changing, deleting or reordering any entry breaks the chain at that
entry, and :meth:`SqlAuditLog.verify` names the first broken one.

Erasure (Art. 17) may *redact* an entry's details and nothing else (:meth:`SqlAuditLog.redact`): its
data becomes ``{"redacted_by": <erasure receipt id>}``, a personal actor or object is replaced by a
pseudonym, and in the same transaction an ``audit.redacted`` entry is appended that names each redacted
entry with the digest of its redacted details. Verify accepts a redacted entry only with such a later
entry and that exact content; any other mismatch between details and digest is a change. Removing entries from the end leaves a shorter, intact chain: compare the head
(``seq`` and ``hash``) with one noted earlier (``verify(anchor=...)``, ``glassdesk audit verify --expect``).

Appends are serialized in the write transaction, so two writers never fork the chain: SQLite has one
writer at a time (``BEGIN IMMEDIATE``), PostgreSQL takes a transaction-scoped advisory lock before it
reads the head. Database triggers (migrations ``0005_security``, ``0006_audit_digest``) refuse DELETE
and any UPDATE other than a first redaction of the details.

Record ids, names and counts, never message text, passwords or addresses of customers.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware

__all__ = [
    "SqlAuditLog",
    "AuditEntry",
    "Redaction",
    "REDACTED_ACTION",
    "REDACTION_KEY",
    "details_digest",
    "ChainBreak",
    "ChainReport",
    "BreakKind",
    "GENESIS_HASH",
    "entry_hash",
    "append_entry",
    "check_entry",
]

GENESIS_HASH = "0" * 64
HASH_VERSION = 2  # part of every hashed document: a future format change stays verifiable
REDACTION_KEY = "redacted_by"  # the one key of a redacted entry's data (the triggers test for it too)
REDACTED_ACTION = "audit.redacted"  # the entry that names the entries one erasure redacted
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
    data_digest: str

    @property
    def redacted(self) -> bool:
        return _is_marker(self.data)

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
            "data_digest": self.data_digest,
        }


@enum.unique
class BreakKind(enum.StrEnum):
    GAP = "gap"  # the entry's seq is not the next number: entries before it were deleted or moved
    UNLINKED = "unlinked"  # its prev_hash is not the previous entry's hash: the previous one was replaced
    ALTERED = "altered"  # its hash does not match its content: it was changed after it was written
    ANCHOR_CHANGED = "anchor_changed"  # the noted head entry now has another hash
    TRUNCATED = "truncated"  # the log ends before the noted head entry: entries were removed from the end
    REDACTED = "redacted"  # its details were blanked, but no later audit.redacted entry names it so


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


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _is_marker(data: Any) -> bool:
    return isinstance(data, dict) and list(data) == [REDACTION_KEY] and isinstance(data[REDACTION_KEY], str)


def details_digest(*, actor: str, object_id: str | None, data: Mapping[str, Any]) -> str:
    """sha256 over the canonical JSON (sorted keys, no spaces, ASCII) of an entry's redactable details."""
    return hashlib.sha256(_canonical({"actor": actor, "object_id": object_id, "data": data})).hexdigest()


def entry_hash(*, seq: int, entry_id: str, action: str, data_digest: str, at: datetime, prev_hash: str) -> str:
    """sha256 over the canonical JSON of one entry's fixed part, its details' digest and ``prev_hash``."""
    document = {
        "v": HASH_VERSION,
        "seq": seq,
        "id": entry_id,
        "action": action,
        "data_digest": data_digest,
        "at": _stamp(at),
        "prev": prev_hash,
    }
    return hashlib.sha256(_canonical(document)).hexdigest()


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
    details = details_digest(actor=actor, object_id=object_id, data=stored)
    digest = entry_hash(seq=seq, entry_id=entry_id, action=action, data_digest=details, at=at, prev_hash=prev)
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
            data_digest=details,
        )
    )
    return AuditEntry(seq, entry_id, actor, action, object_id, stored, at, prev, digest, details)


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
        data_digest=row.data_digest,
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
        action=entry.action,
        data_digest=entry.data_digest,
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
    if not entry.redacted and _details_of(entry) != entry.data_digest:
        return ChainBreak(
            entry.seq,
            entry.id,
            BreakKind.ALTERED,
            "its actor, object or data do not match their digest: they were changed after it was written",
        )
    return None


def _object(object_id: str | None) -> str | None:
    return object_id[:64] if object_id is not None else None


def _details_of(entry: AuditEntry) -> str:
    return details_digest(actor=entry.actor, object_id=entry.object_id, data=entry.data)


@dataclass(frozen=True, slots=True)
class Redaction:
    """One entry's details after redaction: its data becomes the marker, these replace actor and object."""

    seq: int
    actor: str
    object_id: str | None


@dataclass(slots=True)
class _Redactions:
    """Redacted entries seen by a walk, waiting for the later ``audit.redacted`` entry that names them."""

    pending: dict[int, tuple[AuditEntry, str]] = field(default_factory=dict)  # seq -> (entry, details digest)

    def seen(self, entry: AuditEntry) -> None:
        if entry.redacted:
            self.pending[entry.seq] = (entry, _details_of(entry))

    def authorised_by(self, entry: AuditEntry) -> AuditEntry | None:
        """The first redacted entry that ``entry`` names with another content than it has now."""
        listed = entry.data.get("entries") if entry.action == REDACTED_ACTION else None
        if not isinstance(listed, dict):
            return None
        for key, digest in listed.items():
            seq = int(key) if str(key).isdigit() else -1
            waiting = self.pending.pop(seq, None)
            if waiting is None:
                continue  # read before it was redacted (verify pages through the log): nothing to check
            if waiting[1] != digest:
                return waiting[0]
        return None

    def first_unauthorised(self) -> AuditEntry | None:
        return self.pending[min(self.pending)][0] if self.pending else None


class SqlAuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, *, actor: str, action: str, object_id: str | None, data: Mapping[str, Any]) -> AuditEntry:
        """Append one entry in its own transaction. ``action`` is a dotted name (``policy.published``,
        ``conversation.viewed``); ``data`` is JSON: ids and counts, no personal data."""
        async with self._db.begin() as conn:
            return await append_entry(conn, actor=actor, action=action, object_id=object_id, data=data)

    async def redact(self, redactions: Sequence[Redaction], *, by: str, receipt_id: str) -> int:
        """Blank the details of these entries (erasure): data becomes ``{"redacted_by": receipt_id}``,
        actor and object the given values; one ``audit.redacted`` entry records what each became, in
        the same transaction. Entries already redacted are left as they are. Returns how many changed."""
        wanted = {r.seq: r for r in redactions}
        if not wanted:
            return 0
        marker = {REDACTION_KEY: receipt_id}
        async with self._db.begin() as conn:
            rows = []
            seqs = sorted(wanted)
            for start in range(0, len(seqs), 400):
                batch = seqs[start : start + 400]
                rows += list(await conn.execute(select(t.audit_log).where(t.audit_log.c.seq.in_(batch))))
            todo = [wanted[int(r.seq)] for r in rows if not _is_marker(r.data)]
            if not todo:
                return 0
            recorded = {
                str(r.seq): details_digest(actor=r.actor[:64], object_id=_object(r.object_id), data=marker)
                for r in todo
            }
            await append_entry(conn, actor=by, action=REDACTED_ACTION, object_id=receipt_id, data={"entries": recorded})
            for r in todo:
                await conn.execute(
                    update(t.audit_log)
                    .where(t.audit_log.c.seq == r.seq)
                    .values(actor=r.actor[:64], object_id=_object(r.object_id), data=marker)
                )
            return len(todo)

    async def entries(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """The newest entries first."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(t.audit_log).order_by(t.audit_log.c.seq.desc()).limit(limit))
            return [_entry(r).to_dict() for r in rows]

    async def verify(self, *, anchor: tuple[int, str] | None = None) -> ChainReport:
        """Walk the whole chain in order; the first broken entry, if any. ``anchor`` is a head
        ``(seq, hash)`` noted earlier: it must still be there, unchanged."""
        expected, prev, count = 1, GENESIS_HASH, 0
        redactions = _Redactions()
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
                if broken is None:
                    redactions.seen(entry)
                    changed = redactions.authorised_by(entry)
                    if changed is not None:  # a redacted entry before this one was changed afterwards
                        detail = (
                            f"its redacted details are not what entry {entry.seq} recorded: they were changed after "
                            "the redaction"
                        )
                        return ChainReport(
                            changed.seq - 1,
                            changed.seq - 1,
                            changed.prev_hash,
                            ChainBreak(changed.seq, changed.id, BreakKind.ALTERED, detail),
                        )
                if broken is not None:
                    return ChainReport(count, expected - 1, prev, broken)
                expected, prev, count = entry.seq + 1, entry.hash, count + 1
            if len(rows) < _VERIFY_PAGE:
                break
        unauthorised = redactions.first_unauthorised()
        if unauthorised is not None:
            return ChainReport(
                unauthorised.seq - 1,
                unauthorised.seq - 1,
                unauthorised.prev_hash,
                ChainBreak(
                    unauthorised.seq,
                    unauthorised.id,
                    BreakKind.REDACTED,
                    f"its details were blanked, but no later {REDACTED_ACTION} entry records that redaction: "
                    "they were changed after it was written",
                ),
            )
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
