"""SQL adapter of the routing policy history and of the requests to change it.

Versions are immutable: publishing and rolling back both append one; the newest is live. With
four-eyes publishing a change first waits as a request (``policy_requests``) until a second admin
approves it; approving appends the version and closes the request in one transaction, and only
while the version that was live when it was requested is still live. The rules about who may ask and
who may approve live in ``services.policy_admin``.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from conversation.errors import NotFound, VersionConflict
from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware

__all__ = [
    "SqlPolicyVersions",
    "StoredPolicy",
    "PolicyRequest",
    "RequestKind",
    "RequestStatus",
    "RequestDecided",
]


@enum.unique
class RequestKind(enum.StrEnum):
    PUBLISH = "publish"
    ROLLBACK = "rollback"


@enum.unique
class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # and live: ``published_version`` names the version it became
    REJECTED = "rejected"  # by another admin
    WITHDRAWN = "withdrawn"  # by the admin who asked
    SUPERSEDED = "superseded"  # another version went live first; ask again on top of it


class RequestDecided(VersionConflict):
    """The request is no longer pending: someone approved, rejected or withdrew it first."""


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    version: int
    author: str
    message: str
    text: str
    sha256: str
    rolled_back_from: int | None
    created_at: datetime
    approved_by: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    id: str
    kind: RequestKind
    status: RequestStatus
    text: str
    sha256: str
    message: str
    target_version: int | None
    base_version: int | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    published_version: int | None

    def describe(self) -> str:
        what = f"roll back to v{self.target_version}" if self.kind is RequestKind.ROLLBACK else "publish"
        return f"request {self.id} ({what}, asked by {self.requested_by})"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def _live_version(conn: AsyncConnection) -> int | None:
    current = (await conn.execute(select(func.max(t.policy_versions.c.version)))).scalar()
    return int(current) if current is not None else None


async def _append(
    conn: AsyncConnection,
    text: str,
    *,
    author: str,
    message: str,
    rolled_back_from: int | None,
    live: int | None,
    approved_by: str | None,
) -> StoredPolicy:
    row = {
        "id": new_id("pv"),
        "version": (live or 0) + 1,
        "author": author,
        "message": message[:500],
        "text": text,
        "sha256": _sha(text),
        "rolled_back_from": rolled_back_from,
        "created_at": utcnow(),
        "approved_by": approved_by,
    }
    await conn.execute(insert(t.policy_versions).values(**row))
    return _policy(row)


_SAME_MOMENT = "another policy version was published at the same moment; reload and try again"


class SqlPolicyVersions:
    """Immutable history: publishing and rolling back both append a version; the newest is live."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- versions ---------------------------------------------------------------------------------
    async def publish(
        self,
        text: str,
        *,
        author: str,
        message: str,
        rolled_back_from: int | None = None,
        expected_live: int | None = None,
        check_live: bool = False,
    ) -> StoredPolicy:
        """Append ``text`` as the newest version. With ``check_live``, only while ``expected_live`` is
        still the live version (None: no version yet); else :class:`VersionConflict`."""
        try:
            async with self._db.begin() as conn:
                live = await _live_version(conn)
                if check_live and live != expected_live:
                    raise VersionConflict(
                        f"version {live} was published since (you expected {expected_live}); reload and try again"
                    )
                return await _append(
                    conn,
                    text,
                    author=author,
                    message=message,
                    rolled_back_from=rolled_back_from,
                    live=live,
                    approved_by=None,
                )
        except IntegrityError as exc:  # another publish took the same version number first
            raise VersionConflict(_SAME_MOMENT) from exc

    async def active(self) -> StoredPolicy | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(t.policy_versions).order_by(t.policy_versions.c.version.desc()).limit(1))
            ).first()
        return _policy(dict(row._mapping)) if row is not None else None

    async def get(self, version: int) -> StoredPolicy:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.policy_versions).where(t.policy_versions.c.version == version))).first()
        if row is None:
            raise NotFound(f"policy version {version} does not exist; `glassdesk policy list` shows the versions")
        return _policy(dict(row._mapping))

    async def history(self) -> list[StoredPolicy]:
        async with self._db.read() as conn:
            rows = await conn.execute(select(t.policy_versions).order_by(t.policy_versions.c.version.desc()))
            return [_policy(dict(r._mapping)) for r in rows]

    # -- requests (four-eyes) ----------------------------------------------------------------------
    async def request(
        self,
        kind: RequestKind,
        text: str,
        *,
        message: str,
        requested_by: str,
        base_version: int | None,
        target_version: int | None = None,
    ) -> PolicyRequest:
        """Store a change that waits for a second admin."""
        row = {
            "id": new_id("pr"),
            "kind": kind.value,
            "status": RequestStatus.PENDING.value,
            "text": text,
            "sha256": _sha(text),
            "message": message[:500],
            "target_version": target_version,
            "base_version": base_version,
            "requested_by": requested_by,
            "requested_at": utcnow(),
            "decided_by": None,
            "decided_at": None,
            "decision_note": None,
            "published_version": None,
        }
        async with self._db.begin() as conn:
            await conn.execute(insert(t.policy_requests).values(**row))
        return _request(row)

    async def get_request(self, request_id: str) -> PolicyRequest:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.policy_requests).where(t.policy_requests.c.id == request_id))).first()
        if row is None:
            raise NotFound(f"policy request {request_id} does not exist; `glassdesk policy requests` lists them")
        return _request(dict(row._mapping))

    async def requests(self, *, status: RequestStatus | None = None, limit: int = 50) -> list[PolicyRequest]:
        """Newest first."""
        query = select(t.policy_requests).order_by(t.policy_requests.c.requested_at.desc()).limit(limit)
        if status is not None:
            query = query.where(t.policy_requests.c.status == status.value)
        async with self._db.read() as conn:
            return [_request(dict(r._mapping)) for r in await conn.execute(query)]

    async def approve(self, request_id: str, *, approver: str) -> tuple[PolicyRequest, StoredPolicy]:
        """Make the request's text live and close the request, in one transaction. Raises
        :class:`NotFound`, :class:`RequestDecided`, or :class:`VersionConflict` when another version
        went live since the request (the request is then closed as superseded)."""
        superseded_by: int | None = None
        stored: StoredPolicy | None = None
        try:
            async with self._db.begin() as conn:
                pending = await self._pending(conn, request_id)
                live = await _live_version(conn)
                if live != pending.base_version:
                    superseded_by = live
                    await self._close(
                        conn,
                        request_id,
                        RequestStatus.SUPERSEDED,
                        by=None,
                        note=f"v{live} went live after this request (which was based on "
                        f"v{pending.base_version or '-'})",
                    )
                else:
                    stored = await _append(
                        conn,
                        pending.text,
                        author=pending.requested_by,
                        message=pending.message,
                        rolled_back_from=pending.target_version,
                        live=live,
                        approved_by=approver,
                    )
                    await self._close(
                        conn, request_id, RequestStatus.APPROVED, by=approver, note=None, published=stored.version
                    )
        except IntegrityError as exc:
            raise VersionConflict(_SAME_MOMENT) from exc
        if stored is None:
            raise VersionConflict(
                f"v{superseded_by} went live after request {request_id} was made; nothing "
                "changed: preview the change again and make a new request"
            )
        return await self.get_request(request_id), stored

    async def decide(self, request_id: str, status: RequestStatus, *, by: str, note: str | None) -> PolicyRequest:
        """Close a pending request without publishing it (rejected or withdrawn)."""
        if status not in (RequestStatus.REJECTED, RequestStatus.WITHDRAWN):
            raise ValueError(f"decide() closes a request as rejected or withdrawn, not {status.value}")
        async with self._db.begin() as conn:
            await self._pending(conn, request_id)
            await self._close(conn, request_id, status, by=by, note=note)
        return await self.get_request(request_id)

    async def _pending(self, conn: AsyncConnection, request_id: str) -> PolicyRequest:
        """The request, locked for this transaction (PostgreSQL; SQLite has one writer anyway)."""
        row = (
            await conn.execute(select(t.policy_requests).where(t.policy_requests.c.id == request_id).with_for_update())
        ).first()
        if row is None:
            raise NotFound(f"policy request {request_id} does not exist; `glassdesk policy requests` lists them")
        found = _request(dict(row._mapping))
        if found.status is not RequestStatus.PENDING:
            by = f" by {found.decided_by}" if found.decided_by else ""
            raise RequestDecided(f"{found.describe()} is already {found.status.value}{by}; nothing changed")
        return found

    @staticmethod
    async def _close(
        conn: AsyncConnection,
        request_id: str,
        status: RequestStatus,
        *,
        by: str | None,
        note: str | None,
        published: int | None = None,
    ) -> None:
        await conn.execute(
            update(t.policy_requests)
            .where(t.policy_requests.c.id == request_id)
            .values(
                status=status.value,
                decided_by=by,
                decided_at=utcnow(),
                decision_note=note[:400] if note else None,
                published_version=published,
            )
        )


def _policy(row: dict[str, Any]) -> StoredPolicy:
    return StoredPolicy(
        version=row["version"],
        author=row["author"],
        message=row["message"],
        text=row["text"],
        sha256=row["sha256"],
        rolled_back_from=row["rolled_back_from"],
        created_at=aware(row["created_at"]),
        approved_by=row.get("approved_by"),
    )


def _request(row: dict[str, Any]) -> PolicyRequest:
    return PolicyRequest(
        id=row["id"],
        kind=RequestKind(row["kind"]),
        status=RequestStatus(row["status"]),
        text=row["text"],
        sha256=row["sha256"],
        message=row["message"],
        target_version=row["target_version"],
        base_version=row["base_version"],
        requested_by=row["requested_by"],
        requested_at=aware(row["requested_at"]),
        decided_by=row["decided_by"],
        decided_at=aware(row["decided_at"]) if row["decided_at"] is not None else None,
        decision_note=row["decision_note"],
        published_version=row["published_version"],
    )
