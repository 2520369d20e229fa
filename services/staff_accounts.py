"""Staff accounts: roles, one-time passwords and the password rules, shared by `glassdesk users` and
the change-password page. There is no default account outside demo mode: the first admin is created
with `glassdesk users create`, gets a one-time password and must choose their own at first login.
Every change is written to the audit log (no passwords, no hashes)."""

from __future__ import annotations

import asyncio
import enum
import re
import secrets

from conversation.sql import UserRow
from services.container import Container
from services.passwords import hash_password, verify_password

__all__ = [
    "Role",
    "AccountAction",
    "AccountRefused",
    "WrongPassword",
    "MIN_PASSWORD_LENGTH",
    "one_time_password",
    "password_problem",
    "create_account",
    "reset_password",
    "change_password",
    "admin_named",
]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")


@enum.unique
class Role(enum.StrEnum):
    AGENT = "agent"  # the inbox
    OPS = "ops"  # the ops dashboard
    ADMIN = "admin"  # everything, and policies


@enum.unique
class AccountAction(enum.StrEnum):
    CREATED = "user.created"
    PASSWORD_RESET = "user.password_reset"
    PASSWORD_CHANGED = "user.password_changed"


class AccountRefused(ValueError):
    """The account change breaks a rule (the message says which and how to fix it); nothing changed."""


class WrongPassword(AccountRefused):
    """The current password given to change it is wrong (callers count it like a failed login)."""


def one_time_password() -> str:
    """20 URL-safe characters (120 random bits), shown once."""
    return secrets.token_urlsafe(15)


def password_problem(new: str, *, username: str, current: str | None = None) -> str | None:
    """Why ``new`` is not acceptable as a password, or None."""
    if len(new) < MIN_PASSWORD_LENGTH:
        return f"choose a password of at least {MIN_PASSWORD_LENGTH} characters"
    if len(new) > MAX_PASSWORD_LENGTH:
        return f"choose a password of at most {MAX_PASSWORD_LENGTH} characters"
    if new.strip().lower() == username.strip().lower():
        return "choose a password other than your name"
    if current is not None and new == current:
        return "choose a password other than the current one"
    return None


async def create_account(
    services: Container, username: str, *, role: Role, display_name: str | None = None, actor: str
) -> tuple[UserRow, str]:
    """A new account with a one-time password (returned once, stored only as a hash) that must be
    changed at first login. Raises :class:`AccountRefused` for a bad name, ``UserExists`` when taken."""
    username = username.strip()
    if not _NAME.fullmatch(username):
        raise AccountRefused(
            f"--name {username!r}: use 2 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    password = one_time_password()
    digest = await asyncio.to_thread(hash_password, password)
    user = await services.users.create(
        username,
        display_name=(display_name or username).strip()[:128] or username,
        role=role.value,
        password_hash=digest,
        must_change_password=True,
    )
    await services.audit.record(
        actor=actor,
        action=AccountAction.CREATED,
        object_id=user.id,
        data={"username": user.username, "role": role.value},
    )
    return user, password


async def reset_password(services: Container, username: str, *, actor: str) -> str:
    """A new one-time password for ``username`` (the old one stops working; change at next login)."""
    user = await services.users.by_username(username.strip())
    if user is None:
        raise AccountRefused(f"no staff account named {username!r}; `glassdesk users list` shows the accounts")
    password = one_time_password()
    await services.users.set_password(
        user.id, await asyncio.to_thread(hash_password, password), must_change_password=True
    )
    await services.audit.record(
        actor=actor, action=AccountAction.PASSWORD_RESET, object_id=user.id, data={"username": user.username}
    )
    return password


async def change_password(services: Container, user: UserRow, *, current: str, new: str) -> None:
    """The account holder replaces their password (the one-time one, or their own)."""
    if not await asyncio.to_thread(verify_password, current, user.password_hash):
        raise WrongPassword("the current password is wrong")
    problem = password_problem(new, username=user.username, current=current)
    if problem:
        raise AccountRefused(problem)
    await services.users.set_password(user.id, await asyncio.to_thread(hash_password, new), must_change_password=False)
    await services.audit.record(
        actor=user.username,
        action=AccountAction.PASSWORD_CHANGED,
        object_id=user.id,
        data={"was_one_time": user.must_change_password},
    )


async def admin_named(services: Container, name: str) -> UserRow | None:
    """The admin account called ``name``, if there is one."""
    user = await services.users.by_username(name.strip())
    return user if user is not None and user.role == Role.ADMIN.value else None
