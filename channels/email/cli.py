"""``glassdesk email ...`` commands (mounted by the integrator)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from channels.email.parse import parse_to_json
from conversation.errors import InboundParseError

__all__ = ["email_app"]

email_app = typer.Typer(name="email", help="Inspect email the way Glassdesk parses it.", no_args_is_help=True)


@email_app.callback()
def _email() -> None:
    """Email channel tools."""


@email_app.command("parse")
def parse_command(
    file: Path = typer.Argument(..., help="A raw RFC 5322 message (.eml) or a plain/HTML body."),
    as_json: bool = typer.Option(False, "--json", help="Print compact one-line JSON."),
) -> None:
    """Parse FILE and print one JSON object: sender, thread ids, new text, attachments."""
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        typer.echo(f"error: {file}: no such file; pass the path of a saved email", err=True)
        raise typer.Exit(code=2) from None
    except IsADirectoryError:
        typer.echo(f"error: {file}: is a directory; pass one email file", err=True)
        raise typer.Exit(code=2) from None
    except OSError as exc:
        typer.echo(f"error: {file}: cannot read ({exc.strerror or exc})", err=True)
        raise typer.Exit(code=2) from None
    try:
        result = parse_to_json(raw)
    except InboundParseError as exc:
        typer.echo(f"error: {file}: cannot parse as email ({exc.reason}): {exc.detail}", err=True)
        raise typer.Exit(code=1) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, separators=(",", ":")))
    else:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
