"""`glassdesk gdpr`: data-subject rights and retention from the command line.

- ``export --contact ID [--out DIR]``: Art. 15/20 export (JSON to stdout, or DIR/export.json + attachments)
- ``erase --contact ID --requested-by NAME --approved-by NAME [--dry-run]``: Art. 17 erasure (two people)
- ``approve REQUEST --approved-by NAME``: finish a requested, blocked or failed erasure
- ``hold --contact ID --reason TEXT --by NAME`` / ``release HOLD --by NAME``: legal holds
- ``receipts``: the erasure receipts (no personal data)
- ``ropa [--json]``: the Art. 30 record, generated from the configuration
- ``retention [--dry-run] [--now ISO]``: purge past the retention periods (always counts first)

Exit codes: 0 done, 1 failed (the receipt says where), 2 refused (bad input), 3 blocked by a legal hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from services.settings import Settings

__all__ = ["gdpr_app"]

gdpr_app = typer.Typer(
    no_args_is_help=True,
    help="Data-subject rights (export, erasure), legal holds, retention, the record of processing.",
)
T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: a config error, not a traceback
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _run(work: Callable[[Any], Awaitable[T]]) -> T:
    from runtime.compose import open_container

    async def main() -> T:
        async with open_container(_settings()) as services:
            return await work(services)

    return asyncio.run(main())


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@gdpr_app.command("export")
def export_cmd(
    contact: Annotated[str, typer.Option("--contact", help="The contact id (ct_...).")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for export.json and the attachments.")] = None,
) -> None:
    """Everything about one contact as one JSON document (attachments inline, or as files with --out)."""
    from conversation.errors import NotFound
    from services.gdpr_export import build_export, write_export

    async def go(services: Any) -> Any:
        if out is not None:
            return await write_export(services, contact, out)
        doc, _ = await build_export(services, contact)
        return doc.model_dump(mode="json")

    try:
        result = _run(go)
    except NotFound as exc:
        raise _fail(str(exc)) from None
    if isinstance(result, Path):
        typer.echo(f"export written to {result}")
    else:
        _print(result)


@contextlib.asynccontextmanager
async def _eraser(services: Any) -> AsyncIterator[Any]:
    from services.gdpr_erase import Eraser
    from services.gdpr_prefect import PrefectRestRuns

    runs = await PrefectRestRuns.from_settings(services.settings)
    try:
        yield Eraser(services, runs=runs)
    finally:
        await runs.aclose()


def _outcome_exit(outcome: Any) -> None:
    _print(outcome.public())
    receipt = outcome.receipt
    if receipt is None:
        return
    if receipt.status.value == "blocked":
        raise typer.Exit(3)
    if receipt.status.value != "completed":
        raise typer.Exit(1)


@gdpr_app.command("erase")
def erase_cmd(
    contact: Annotated[str, typer.Option("--contact", help="The contact id (ct_...).")],
    requested_by: Annotated[str, typer.Option("--requested-by", help="Who asked for the erasure.")],
    approved_by: Annotated[str, typer.Option("--approved-by", help="The second admin who approves it.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go, and show the holds.")] = False,
    claims_checked_by: Annotated[
        str | None,
        typer.Option("--claims-checked-by", help="With a connectors back office: who checked that no claim is open."),
    ] = None,
) -> None:
    """Erase a contact from every store; the customer is told first; a receipt stays (no personal data)."""
    from conversation.errors import NotFound
    from services.gdpr_erase import ErasureRefused

    async def go(services: Any) -> Any:
        async with _eraser(services) as eraser:
            if dry_run:
                return await eraser.plan(contact, claims_checked_by=claims_checked_by)
            return await eraser.erase(
                contact, requested_by=requested_by, approved_by=approved_by, claims_checked_by=claims_checked_by
            )

    try:
        outcome = _run(go)
    except (NotFound, ErasureRefused) as exc:
        raise _fail(str(exc)) from None
    _outcome_exit(outcome)


@gdpr_app.command("approve")
def approve_cmd(
    request: Annotated[str, typer.Argument(help="The erasure request id (er_...).")],
    approved_by: Annotated[str, typer.Option("--approved-by", help="The second admin who approves it.")],
    claims_checked_by: Annotated[str | None, typer.Option("--claims-checked-by")] = None,
) -> None:
    """Approve (or finish, after a failure or a released hold) an erasure request."""
    from conversation.errors import NotFound, VersionConflict
    from services.gdpr_erase import ErasureRefused

    async def go(services: Any) -> Any:
        async with _eraser(services) as eraser:
            return await eraser.approve(request, approved_by=approved_by, claims_checked_by=claims_checked_by)

    try:
        outcome = _run(go)
    except (NotFound, ErasureRefused, VersionConflict) as exc:
        raise _fail(str(exc)) from None
    _outcome_exit(outcome)


@gdpr_app.command("hold")
def hold_cmd(
    contact: Annotated[str, typer.Option("--contact", help="The contact id (ct_...).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the data must be kept (a case number).")],
    by: Annotated[str, typer.Option("--by", help="Who places the hold.")],
) -> None:
    """Place a legal hold: the contact's data is neither erased nor purged until it is released."""
    from conversation.errors import NotFound
    from conversation.sql.receipts import SqlLegalHolds

    async def go(services: Any) -> Any:
        hold = await SqlLegalHolds(services.db).place(contact, reason=reason, placed_by=by)
        await services.audit.record(actor=by, action="gdpr.hold_placed", object_id=hold.id, data={})
        return hold

    try:
        hold = _run(go)
    except (NotFound, ValueError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"legal hold {hold.id} placed")


@gdpr_app.command("release")
def release_cmd(
    hold: Annotated[str, typer.Argument(help="The hold id (lh_...).")],
    by: Annotated[str, typer.Option("--by", help="Who releases it.")],
) -> None:
    """Release a legal hold."""
    from conversation.errors import NotFound
    from conversation.sql.receipts import SqlLegalHolds

    async def go(services: Any) -> None:
        await SqlLegalHolds(services.db).release(hold, released_by=by)
        await services.audit.record(actor=by, action="gdpr.hold_released", object_id=hold, data={})

    try:
        _run(go)
    except NotFound as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"legal hold {hold} released")


@gdpr_app.command("receipts")
def receipts_cmd(limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100) -> None:
    """The erasure requests and receipts, newest first (pseudonyms and counts only)."""
    from conversation.sql.receipts import SqlErasureReceipts

    async def go(services: Any) -> list[dict[str, Any]]:
        return [r.public() for r in await SqlErasureReceipts(services.db).list(limit=limit)]

    _print(_run(go))


@gdpr_app.command("ropa")
def ropa_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of Markdown.")] = False) -> None:
    """The record of processing activities (Art. 30), generated from the configuration."""
    from services.gdpr_ropa import build_ropa, render_markdown

    ropa = build_ropa(_settings())
    if as_json:
        _print(ropa.model_dump(mode="json"))
    else:
        typer.echo(render_markdown(ropa), nl=False)


@gdpr_app.command("retention")
def retention_cmd(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what is past its period.")] = False,
    now: Annotated[str | None, typer.Option("--now", help="Purge as of this ISO time (default: now).")] = None,
) -> None:
    """Purge every data class past its retention period; the counts of a dry run come first."""
    from services.gdpr_prefect import PrefectRestRuns
    from services.gdpr_retention import RetentionPurge

    try:
        at = datetime.fromisoformat(now) if now else None
    except ValueError:
        raise _fail(f"--now {now!r}: give an ISO time such as 2027-01-31T00:00:00+00:00") from None

    async def go(services: Any) -> list[dict[str, Any]]:
        runs = await PrefectRestRuns.from_settings(services.settings)
        try:
            purge = RetentionPurge(services, runs=runs)
            reports = [(await purge.run(now=at, dry_run=True)).public()]
            if not dry_run:
                reports.append((await purge.run(now=at, dry_run=False)).public())
            return reports
        finally:
            await runs.aclose()

    for report in _run(go):
        _print(report)
