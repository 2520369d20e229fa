"""`glassdesk audit`: read the audit log and verify its hash chain.

`verify` walks every entry in order and reports the first one that was changed, deleted or moved
(exit 1), else the head (entry count and hash, exit 0). Note the head somewhere else (a ticket, a
monitoring system) and pass it back with ``--expect SEQ:HASH``: entries removed from the end, which
leave a shorter intact chain, are then reported too."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from conversation.sql import SqlAuditLog
    from services.settings import Settings

__all__ = ["audit_app"]

audit_app = typer.Typer(help="The audit log: who read or changed what; verify its hash chain.", no_args_is_help=True)

T = TypeVar("T")
_ANCHOR = re.compile(r"(\d+):([0-9a-f]{64})")


def _settings() -> Settings:
    from services.settings import Settings

    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: a config error, not a traceback
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _with_log(fn: Callable[[SqlAuditLog], Awaitable[T]]) -> T:
    """Only the database: verifying needs neither Redis nor the channels, and must not migrate anything."""
    from sqlalchemy.exc import SQLAlchemyError

    from conversation.sql import Database, SqlAuditLog

    settings = _settings()

    async def main() -> T:
        db = Database(settings.sqlalchemy_url)
        try:
            return await fn(SqlAuditLog(db))
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except SQLAlchemyError as exc:
        typer.echo(
            f"error: cannot read the audit log ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
            "is the schema current? run `glassdesk db upgrade`",
            err=True,
        )
        raise typer.Exit(2) from exc


@audit_app.command("verify")
def verify_cmd(
    expect: Annotated[
        str | None,
        typer.Option(
            "--expect", metavar="SEQ:HASH", help="A head printed by an earlier verify: it must still be there."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Walk the hash chain; report the first broken entry (exit 1) or the intact head (exit 0)."""
    anchor = None
    if expect is not None:
        m = _ANCHOR.fullmatch(expect.strip())
        if not m:
            raise typer.BadParameter(
                "write the head as SEQ:HASH, as `glassdesk audit verify` prints it", param_hint="--expect"
            )
        anchor = (int(m.group(1)), m.group(2))
    report = _with_log(lambda log: log.verify(anchor=anchor))
    if as_json:
        broken = report.broken
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "entries": report.entries,
                    "head": f"{report.head_seq}:{report.head_hash}",
                    "broken": None
                    if broken is None
                    else {"seq": broken.seq, "id": broken.entry_id, "kind": broken.kind.value, "detail": broken.detail},
                },
                indent=2,
            )
        )
    elif report.broken is None:
        typer.echo(f"audit log intact: {report.entries} entries")
        typer.echo(f"head {report.head_seq}:{report.head_hash}   (keep it; check later with --expect)")
    else:
        typer.echo(f"audit log BROKEN at {report.broken}", err=True)
        typer.echo(
            f"the {report.entries} entries before it are intact (up to {report.head_seq}:{report.head_hash})", err=True
        )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def list_cmd(
    limit: Annotated[int, typer.Option(help="How many entries, newest first.", min=1, max=10_000)] = 50,
    action: Annotated[
        str | None, typer.Option(help="Of those, only the entries whose action starts with this.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The newest entries: when, who, what, on which object."""
    rows: list[dict[str, Any]] = _with_log(lambda log: log.entries(limit=limit))
    if action:
        rows = [r for r in rows if str(r["action"]).startswith(action)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        typer.echo(
            f"{r['seq']:>7}  {r['at']:%Y-%m-%d %H:%M:%S}  {r['actor']:<20} {r['action']:<28} "
            f"{r['object_id'] or '-'}  {json.dumps(r['data'], ensure_ascii=False)[:200]}"
        )
