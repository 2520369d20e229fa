"""SQL adapters for what admins and agents change: feedback and staff accounts (policy versions:
``policy_store.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from conversation.errors import NotFound, VersionConflict
from conversation.ids import new_id
from conversation.models import utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database

__all__ = ["SqlFeedback", "SqlUsers", "UserRow", "UserExists"]


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
                    id=fid,
                    kind=kind,
                    actor=actor,
                    conversation_id=conversation_id,
                    message_id=message_id,
                    label=label,
                    text=text,
                    reason=reason,
                    created_at=utcnow(),
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
    must_change_password: bool = False  # signed in with a one-time password: change it before anything else


class UserExists(VersionConflict):
    """A staff account with that name exists already."""


class SqlUsers:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, username: str, *, display_name: str, role: str, password_hash: str, must_change_password: bool
    ) -> UserRow:
        """A new account; :class:`UserExists` when the name is taken."""
        uid = new_id("usr")
        try:
            async with self._db.begin() as conn:
                await conn.execute(
                    insert(t.users).values(
                        id=uid,
                        username=username,
                        display_name=display_name,
                        role=role,
                        password_hash=password_hash,
                        must_change_password=must_change_password,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError as exc:
            raise UserExists(
                f"a staff account named {username!r} exists already; pick another name, or reset "
                "its password with `glassdesk users reset-password`"
            ) from exc
        return UserRow(uid, username, display_name, role, password_hash, must_change_password)

    async def upsert(
        self, username: str, *, display_name: str, role: str, password_hash: str, must_change_password: bool = False
    ) -> UserRow:
        async with self._db.begin() as conn:
            row = (await conn.execute(select(t.users).where(t.users.c.username == username))).first()
            values = {
                "display_name": display_name,
                "role": role,
                "password_hash": password_hash,
                "must_change_password": must_change_password,
            }
            if row is None:
                uid = new_id("usr")
                await conn.execute(insert(t.users).values(id=uid, username=username, created_at=utcnow(), **values))
            else:
                uid = row.id
                await conn.execute(update(t.users).where(t.users.c.id == uid).values(**values))
        return UserRow(uid, username, display_name, role, password_hash, must_change_password)

    async def set_password(self, user_id: str, password_hash: str, *, must_change_password: bool) -> None:
        async with self._db.begin() as conn:
            result = await conn.execute(
                update(t.users)
                .where(t.users.c.id == user_id)
                .values(password_hash=password_hash, must_change_password=must_change_password)
            )
        if result.rowcount != 1:
            raise NotFound(f"staff account {user_id} does not exist; `glassdesk users list` shows the accounts")

    async def by_username(self, username: str) -> UserRow | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.users).where(t.users.c.username == username))).first()
        return _user(row) if row else None

    async def by_id(self, user_id: str) -> UserRow | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.users).where(t.users.c.id == user_id))).first()
        return _user(row) if row else None

    async def all(self) -> list[UserRow]:
        async with self._db.read() as conn:
            return [_user(r) for r in await conn.execute(select(t.users).order_by(t.users.c.username))]


def _user(row: Any) -> UserRow:
    return UserRow(row.id, row.username, row.display_name, row.role, row.password_hash, bool(row.must_change_password))
