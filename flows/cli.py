"""The `glassdesk` command line."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Annotated

import typer

from flows.settings import Settings, describe_settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="glassdesk",
    help="Glassdesk: open conversation orchestration for customer service.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The system of record (SQL).", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: show it as a config error, not a traceback
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def config(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Print the effective configuration, secrets masked."""
    rows = describe_settings(_settings())
    if as_json:
        typer.echo(json.dumps({r["name"]: r["value"] for r in rows}, indent=2, default=str))
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        typer.echo(f"{r['name']:<{width}}  {r['value']}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to the configured database."""
    from conversation.sql import upgrade_database

    settings = _settings()
    upgrade_database(settings.sqlalchemy_url)
    typer.echo("database is at the latest schema")


@demo_app.command("load")
def demo_load() -> None:
    """Create the schema and load the demo data (idempotent)."""
    from flows.demo import load_demo

    summary = asyncio.run(load_demo(_settings()))
    typer.echo(summary)


@app.command()
def run() -> None:
    """Run the whole product in the foreground: web, worker, SMTP, Redis, Prefect. Ctrl-C stops it."""
    from flows.supervisor import run_all

    raise typer.Exit(run_all(_settings()))


@app.command()
def web() -> None:
    """Serve the web app (webhooks, chat, inbox, admin, ops, status pages)."""
    import uvicorn

    settings = _settings()
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=settings.web_host,
        port=settings.web_port,
        workers=settings.web_workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )


@app.command()
def worker() -> None:
    """Consume the inbound stream and run turns."""
    from flows.runner import serve_worker

    asyncio.run(_until_signal(serve_worker, _settings()))


@app.command()
def smtp() -> None:
    """Run the inbound SMTP server."""
    from flows.email_ingest import serve_smtp

    asyncio.run(_until_signal(serve_smtp, _settings()))


@app.command("mail-sink")
def mail_sink(
    folder: Annotated[Path, typer.Option(help="Where received mail is written as .eml files.")] = Path("var/mail"),
) -> None:
    """A local SMTP relay for development: outbound mail is written to FOLDER instead of sent."""
    from flows.mailsink import serve_mail_sink

    settings = _settings()
    asyncio.run(_until_signal(lambda s, stop: serve_mail_sink(s, stop, folder=folder), settings))


async def _until_signal(serve, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


def _mount_optional() -> None:
    """Sub-commands contributed by the understanding, knowledge, email and policy packages."""
    # imported here so `glassdesk --help` stays one import deep until it is called
    from channels.email.cli import email_app
    from knowledge.cli import kb_app
    from understanding.cli import intents_app, pii_app

    app.add_typer(intents_app, name="intents", help="Train, evaluate and run the intent classifier.")
    app.add_typer(pii_app, name="pii", help="Detect and redact personal data.")
    app.add_typer(email_app, name="email", help="Parse email.")
    app.add_typer(kb_app, name="kb", help="The knowledge base.")
    from flows.policy_cli import policy_app

    app.add_typer(policy_app, name="policy", help="Validate, simulate, publish and roll back routing policies.")


def main() -> None:
    _mount_optional()
    app()
