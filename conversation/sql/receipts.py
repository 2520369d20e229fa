"""SQL adapters for erasure receipts (the proof an Art. 17 erasure ran, without personal data) and
legal holds (a flag on a contact that blocks erasure and retention until it is released)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update

from conversation.errors import NotFound, VersionConflict
from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.gdpr import chunks
from conversation.sql.rows import aware

__all__ = ["ReceiptStatus", "ErasureReceipt", "SqlErasureReceipts", "LegalHold", "SqlLegalHolds"]


@enum.unique
class ReceiptStatus(enum.StrEnum):
    REQUESTED = "requested"  # waits for a second admin's approval
    RUNNING = "running"  # approved; the erasure is under way
    BLOCKED = "blocked"  # a legal hold stopped it; ``detail`` says which
    COMPLETED = "completed"
    FAILED = "failed"  # ``detail`` names the store that failed; running it again finishes the job
    REJECTED = "rejected"  # the second admin refused

    @property
    def final(self) -> bool:
        return self in {ReceiptStatus.COMPLETED, ReceiptStatus.REJECTED}


@dataclass(frozen=True, slots=True)
class ErasureReceipt:
    id: str
    subject: str  # HMAC of the contact id: recognisable by whoever holds the secret, personal to no one else
    contact_id: str | None  # only while the request is open
    status: ReceiptStatus
    requested_by: str
    approved_by: str | None
    counts: dict[str, int]
    detail: str
    requested_at: datetime
    completed_at: datetime | None

    def public(self) -> dict[str, Any]:
        """The receipt as shown to staff and printed by the CLI (never the contact id)."""
        return {
            "id": self.id,
            "subject": self.subject,
            "status": self.status.value,
            "requested_by": self.requested_by,
            "approved_by": self.approved_by,
            "counts": self.counts,
            "detail": self.detail,
            "requested_at": self.requested_at.isoformat(),
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
        }


def _receipt(m: Any) -> ErasureReceipt:
    return ErasureReceipt(
        id=m["id"],
        subject=m["subject"],
        contact_id=m["contact_id"],
        status=ReceiptStatus(m["status"]),
        requested_by=m["requested_by"],
        approved_by=m["approved_by"],
        counts=dict(m["counts"] or {}),
        detail=m["detail"],
        requested_at=aware(m["requested_at"]),
        completed_at=aware(m["completed_at"]),
    )


class SqlErasureReceipts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def request(self, *, subject: str, contact_id: str, requested_by: str) -> ErasureReceipt:
        row: dict[str, Any] = {
            "id": new_id("er"),
            "subject": subject,
            "contact_id": contact_id,
            "status": ReceiptStatus.REQUESTED.value,
            "requested_by": requested_by[:64],
            "approved_by": None,
            "counts": {},
            "detail": "",
            "requested_at": utcnow(),
            "completed_at": None,
        }
        async with self._db.begin() as conn:
            await conn.execute(insert(t.erasure_receipts).values(**row))
        return _receipt(row)

    async def get(self, receipt_id: str) -> ErasureReceipt:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.erasure_receipts).where(t.erasure_receipts.c.id == receipt_id))).first()
        if row is None:
            raise NotFound(f"erasure request {receipt_id} does not exist")
        return _receipt(row._mapping)

    async def start(self, receipt_id: str, *, approved_by: str, expect: set[ReceiptStatus]) -> ErasureReceipt:
        """Move the request to RUNNING (compare-and-set: of two approvals, one wins)."""
        er = t.erasure_receipts
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(er)
                .where(and_(er.c.id == receipt_id, er.c.status.in_([s.value for s in expect])))
                .values(status=ReceiptStatus.RUNNING.value, approved_by=approved_by[:64])
            )
        if res.rowcount != 1:
            current = await self.get(receipt_id)
            raise VersionConflict(
                f"erasure request {receipt_id} is {current.status.value}, not "
                f"{' or '.join(sorted(s.value for s in expect))}; reload it"
            )
        return await self.get(receipt_id)

    async def finish(
        self, receipt_id: str, *, status: ReceiptStatus, counts: dict[str, int], detail: str, clear_contact: bool
    ) -> ErasureReceipt:
        values: dict[str, Any] = {
            "status": status.value,
            "counts": counts,
            "detail": detail[:4000],
            "completed_at": utcnow(),
        }
        if clear_contact:
            values["contact_id"] = None
        async with self._db.begin() as conn:
            await conn.execute(update(t.erasure_receipts).where(t.erasure_receipts.c.id == receipt_id).values(**values))
        return await self.get(receipt_id)

    async def list(self, *, limit: int = 100) -> list[ErasureReceipt]:
        er = t.erasure_receipts
        async with self._db.read() as conn:
            rows = await conn.execute(select(er).order_by(er.c.requested_at.desc()).limit(limit))
            return [_receipt(r._mapping) for r in rows]

    async def purge(self, *, before: datetime, dry_run: bool) -> int:
        """Receipts of finished requests older than ``before`` (retention)."""
        er = t.erasure_receipts
        final = [s.value for s in ReceiptStatus if s.final]
        where = and_(er.c.status.in_(final), er.c.requested_at < before)
        async with self._db.begin() as conn:
            if dry_run:
                return int((await conn.execute(select(func.count()).select_from(er).where(where))).scalar_one())
            return int((await conn.execute(delete(er).where(where))).rowcount)


@dataclass(frozen=True, slots=True)
class LegalHold:
    id: str
    contact_id: str
    reason: str
    placed_by: str
    placed_at: datetime


class SqlLegalHolds:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def place(self, contact_id: str, *, reason: str, placed_by: str) -> LegalHold:
        if not reason.strip():
            raise ValueError("reason: say why the contact's data must be kept (a case number, not personal data)")
        hold = LegalHold(
            id=new_id("lh"),
            contact_id=contact_id,
            reason=reason.strip()[:255],
            placed_by=placed_by[:64],
            placed_at=utcnow(),
        )
        async with self._db.begin() as conn:
            if (await conn.execute(select(t.contacts.c.id).where(t.contacts.c.id == contact_id))).first() is None:
                raise NotFound(f"contact {contact_id} does not exist")
            await conn.execute(
                insert(t.legal_holds).values(
                    id=hold.id,
                    contact_id=contact_id,
                    reason=hold.reason,
                    placed_by=hold.placed_by,
                    placed_at=hold.placed_at,
                )
            )
        return hold

    async def release(self, hold_id: str, *, released_by: str) -> None:
        lh = t.legal_holds
        async with self._db.begin() as conn:
            res = await conn.execute(
                update(lh)
                .where(and_(lh.c.id == hold_id, lh.c.released_at.is_(None)))
                .values(released_by=released_by[:64], released_at=utcnow())
            )
        if res.rowcount != 1:
            raise NotFound(f"no active legal hold {hold_id}")

    async def all_active(self) -> list[LegalHold]:
        lh = t.legal_holds
        async with self._db.read() as conn:
            rows = await conn.execute(select(lh).where(lh.c.released_at.is_(None)))
            return [
                LegalHold(
                    id=r.id,
                    contact_id=r.contact_id,
                    reason=r.reason,
                    placed_by=r.placed_by,
                    placed_at=aware(r.placed_at),
                )
                for r in rows
            ]

    async def active(self, contact_ids: list[str]) -> list[LegalHold]:
        lh = t.legal_holds
        out: list[LegalHold] = []
        async with self._db.read() as conn:
            for batch in chunks(contact_ids):
                active = and_(lh.c.contact_id.in_(batch), lh.c.released_at.is_(None))
                rows = await conn.execute(select(lh).where(active))
                out += [
                    LegalHold(
                        id=r.id,
                        contact_id=r.contact_id,
                        reason=r.reason,
                        placed_by=r.placed_by,
                        placed_at=aware(r.placed_at),
                    )
                    for r in rows
                ]
        return out
