"""`glassdesk users`: staff accounts. Outside demo mode there is no default login: the first admin is
created here, with a one-time password that must be changed at first login."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from services.staff_accounts import Role

if TYPE_CHECKING:
    from services.container import Container
    from services.settings import Settings

__all__ = ["users_app"]

users_app = typer.Typer(help="Staff accounts: create, list, reset a password.", no_args_is_help=True)

T = TypeVar("T")


def _settings() -> Settings:
    from services.settings import Settings

    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: a config error, not a traceback
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _run(settings: Settings, fn: Callable[[Container], Awaitable[T]]) -> T:
    from runtime.compose import open_container

    async def main() -> T:
        async with open_container(settings) as services:
            return await fn(services)

    return asyncio.run(main())


def _show_once(settings: Settings, username: str, password: str) -> None:
    typer.echo(f"one-time password for {username}: {password}")
    typer.echo(
        f"It is shown only now. Log in at {settings.public_url.rstrip('/')}/login and choose your own "
        "password; until then the account can do nothing else."
    )


@users_app.command("create")
def create_cmd(
    name: Annotated[str, typer.Option("--name", help="Login name (letters, digits, . _ @ -).")],
    role: Annotated[Role, typer.Option("--role", help="agent: inbox; ops: dashboard; admin: everything.")],
    display_name: Annotated[str | None, typer.Option("--display-name", help="Shown in the pages.")] = None,
    actor: Annotated[str, typer.Option("--by", help="Who creates it (kept in the audit log).")] = "cli",
) -> None:
    """Create an account with a one-time password (printed once; changed at first login)."""
    from conversation.sql import UserExists
    from services.staff_accounts import AccountRefused, create_account

    settings = _settings()
    try:
        user, password = _run(
            settings, lambda s: create_account(s, name, role=role, display_name=display_name, actor=actor)
        )
    except (AccountRefused, UserExists) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"created {user.role} account {user.username} ({user.id})")
    _show_once(settings, user.username, password)


@users_app.command("reset-password")
def reset_cmd(
    name: Annotated[str, typer.Option("--name", help="The account's login name.")],
    actor: Annotated[str, typer.Option("--by", help="Who resets it (kept in the audit log).")] = "cli",
) -> None:
    """Give an account a new one-time password (the old password stops working at once)."""
    from services.staff_accounts import AccountRefused, reset_password

    settings = _settings()
    try:
        password = _run(settings, lambda s: reset_password(s, name, actor=actor))
    except AccountRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    _show_once(settings, name.strip(), password)


@users_app.command("list")
def list_cmd() -> None:
    """Every staff account: name, role, display name, and whether it still has a one-time password."""

    async def accounts(s: Container) -> list[tuple[str, str, str, bool]]:
        return [(u.username, u.role, u.display_name, u.must_change_password) for u in await s.users.all()]

    rows = _run(_settings(), accounts)
    if not rows:
        typer.echo("no staff accounts: create the first admin with `glassdesk users create --name NAME --role admin`")
    for username, role, display, one_time in rows:
        typer.echo(
            f"{username:<24} {role:<6} {display}{'   (one-time password: not logged in yet)' if one_time else ''}"
        )
