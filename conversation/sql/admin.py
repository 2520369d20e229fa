"""SQL adapters for what admins and agents change: policy versions, feedback, users."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from conversation.errors import NotFound, VersionConflict
from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import aware

__all__ = ["SqlPolicyVersions", "StoredPolicy", "SqlFeedback", "SqlUsers", "UserRow"]


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    version: int
    author: str
    message: str
    text: str
    sha256: str
    rolled_back_from: int | None
    created_at: datetime


class SqlPolicyVersions:
    """Immutable history: publishing and rolling back both append a version; the newest is live."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(self, text: str, *, author: str, message: str, rolled_back_from: int | None = None,
                      expected_live: int | None = None, check_live: bool = False) -> StoredPolicy:
        """Append ``text`` as the newest version. With ``check_live``, only while ``expected_live`` is
        still the live version (None: no version yet); else :class:`VersionConflict`."""
        try:
            return await self._publish(text, author=author, message=message, rolled_back_from=rolled_back_from,
                                       expected_live=expected_live, check_live=check_live)
        except IntegrityError as exc:  # another publish took the same version number first
            raise VersionConflict(
                "another policy version was published at the same moment; reload and try again"
            ) from exc

    async def _publish(self, text: str, *, author: str, message: str, rolled_back_from: int | None,
                       expected_live: int | None, check_live: bool) -> StoredPolicy:
        async with self._db.begin() as conn:
            current = (await conn.execute(select(func.max(t.policy_versions.c.version)))).scalar()
            if check_live and current != expected_live:
                raise VersionConflict(f"version {current} was published since (you expected {expected_live}); "
                                      "reload and try again")
            version = int(current or 0) + 1
            row = {
                "id": new_id("pv"),
                "version": version,
                "author": author,
                "message": message[:500],
                "text": text,
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "rolled_back_from": rolled_back_from,
                "created_at": utcnow(),
            }
            await conn.execute(insert(t.policy_versions).values(**row))
        return _policy(row)

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


def _policy(row: dict[str, Any]) -> StoredPolicy:
    return StoredPolicy(
        version=row["version"],
        author=row["author"],
        message=row["message"],
        text=row["text"],
        sha256=row["sha256"],
        rolled_back_from=row["rolled_back_from"],
        created_at=aware(row["created_at"]),
    )


class SqlFeedback:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        kind: str,
        *,
        actor: str,
        conversation_id: str | None = None,
        message_id: str | None = None,
        label: str | None = None,
        text: str | None = None,
        reason: str | None = None,
    ) -> str:
        fid = new_id("fb")
        async with self._db.begin() as conn:
            await conn.execute(
                insert(t.feedback).values(
                    id=fid, kind=kind, actor=actor, conversation_id=conversation_id, message_id=message_id,
                    label=label, text=text, reason=reason, created_at=utcnow(),
                )
            )
        return fid

    async def list(self, *, kind: str | None = None, unused_only: bool = False) -> list[dict[str, Any]]:
        query = select(t.feedback).order_by(t.feedback.c.created_at)
        if kind:
            query = query.where(t.feedback.c.kind == kind)
        if unused_only:
            query = query.where(t.feedback.c.used_in_model.is_(None))
        async with self._db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    async def mark_used(self, ids: Sequence[str], *, model_id: str) -> None:
        if not ids:
            return
        async with self._db.begin() as conn:
            await conn.execute(update(t.feedback).where(t.feedback.c.id.in_(ids)).values(used_in_model=model_id))


@dataclass(frozen=True, slots=True)
class UserRow:
    id: str
    username: str
    display_name: str
    role: str
    password_hash: str


class SqlUsers:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, username: str, *, display_name: str, role: str, password_hash: str) -> UserRow:
        async with self._db.begin() as conn:
            row = (await conn.execute(select(t.users).where(t.users.c.username == username))).first()
            if row is None:
                uid = new_id("usr")
                await conn.execute(insert(t.users).values(id=uid, username=username, display_name=display_name,
                                                          role=role, password_hash=password_hash, created_at=utcnow()))
            else:
                uid = row.id
                await conn.execute(update(t.users).where(t.users.c.id == uid).values(
                    display_name=display_name, role=role, password_hash=password_hash))
        return UserRow(uid, username, display_name, role, password_hash)

    async def by_username(self, username: str) -> UserRow | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.users).where(t.users.c.username == username))).first()
        return UserRow(row.id, row.username, row.display_name, row.role, row.password_hash) if row else None

    async def by_id(self, user_id: str) -> UserRow | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.users).where(t.users.c.id == user_id))).first()
        return UserRow(row.id, row.username, row.display_name, row.role, row.password_hash) if row else None
