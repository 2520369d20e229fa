"""The `glassdesk` command line."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # pydantic-settings costs a third of the start-up: imported by the commands that need it
    from services.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="glassdesk",
    help="Glassdesk: open conversation orchestration for customer service.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The system of record (SQL).", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
feedback_app = typer.Typer(help="Staff corrections the intent model learns from.", no_args_is_help=True)
ops_app = typer.Typer(help="Operations flows: retrain intents, re-ingest the knowledge base.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
sms_app = typer.Typer(help="SMS (development helpers).", no_args_is_help=True)
app.add_typer(sms_app, name="sms")
app.add_typer(feedback_app, name="feedback")
app.add_typer(ops_app, name="ops")


def _settings() -> Settings:
    from services.settings import Settings

    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: show it as a config error, not a traceback
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def config(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print every setting with its default (README table).")
    ] = False,
) -> None:
    """Print the effective configuration, secrets masked."""
    if markdown:
        from services.settings import settings_table

        typer.echo(settings_table())
        return
    from services.settings import describe_settings

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
    from devtools.demo import load_demo

    summary = asyncio.run(load_demo(_settings()))
    typer.echo(summary)


@app.command()
def run() -> None:
    """Run the whole product in the foreground: web, worker, SMTP, Redis, Prefect. Ctrl-C stops it."""
    from runtime.supervisor import run_all

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
        ws_max_size=settings.chat_max_frame_bytes,  # the socket layer refuses oversized chat frames too
    )


@app.command()
def worker() -> None:
    """Consume the inbound stream and run turns."""
    from runtime.serve_worker import serve_worker

    asyncio.run(_until_signal(serve_worker, _settings()))


@app.command()
def smtp() -> None:
    """Run the inbound SMTP server."""
    from runtime.smtp import serve_smtp

    asyncio.run(_until_signal(serve_smtp, _settings()))


@app.command("mail-sink")
def mail_sink(
    folder: Annotated[
        Path | None,
        typer.Option(help="Where received mail is written as .eml files (default: GLASSDESK_VAR_DIR/mail)."),
    ] = None,
) -> None:
    """A local SMTP relay for development: outbound mail is written to FOLDER instead of sent."""
    from devtools.mailsink import serve_mail_sink

    settings = _settings()
    target = folder if folder is not None else settings.var_dir / "mail"
    asyncio.run(_until_signal(lambda s, stop: serve_mail_sink(s, stop, folder=target), settings))


@app.command()
def ledger(
    hours: Annotated[float, typer.Option(help="Look at messages received in the last HOURS.")] = 24.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every accepted message and its final state: replied, with a person, alarmed, in progress or
    unaccounted. Exits 1 when any message is unaccounted (for monitoring)."""
    import datetime as dt

    from services.ledger import LedgerState, compute_ledger

    settings = _settings()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    result = _with_services(settings, lambda s: compute_ledger(s, since=since))
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        for state in LedgerState:
            typer.echo(f"{state.value:<12} {result.counts[state]}")
        for entry in result.unaccounted:
            typer.echo(
                f"unaccounted: message {entry.message_id} in conversation {entry.conversation_id}, "
                f"received {entry.received_at.isoformat()}"
            )
    if result.unaccounted:
        raise typer.Exit(1)


@app.command("claims-portal")
def claims_portal() -> None:
    """The demo legacy insurance portal for development (server-rendered forms, a session login); the
    RPA connector's robot reads claims and contracts from it."""
    from devtools.claims_portal import serve

    settings = _settings()
    asyncio.run(serve("127.0.0.1", settings.claims_portal_port, settings.var_dir / "backoffice.db"))


@app.command("sms-sink")
def sms_sink() -> None:
    """A local Twilio Messages API for development: outbound SMS land in var/sms/ as JSON."""
    import uvicorn

    from devtools.smssink import build_sms_sink

    settings = _settings()
    uvicorn.run(
        build_sms_sink(settings, folder=settings.var_dir / "sms"),
        host="127.0.0.1",
        port=settings.sms_sink_port,
        log_level="warning",
    )


@sms_app.command("simulate")
def sms_simulate(
    text: Annotated[str, typer.Argument(help="The message text, as the customer types it.")],
    sender: Annotated[str, typer.Option("--from", help="The customer's number (E.164).")] = "+4915112345678",
) -> None:
    """Post a signed Twilio webhook for an inbound SMS to the running web app (development)."""
    import httpx

    from channels.sms import sign_webhook

    settings = _settings()
    url = settings.public_url.rstrip("/") + "/webhooks/twilio/sms"
    import secrets as _secrets

    params = {
        "MessageSid": "SM" + _secrets.token_hex(16),
        "AccountSid": settings.twilio_account_sid,
        "From": sender,
        "To": settings.twilio_from_number,
        "Body": text,
        "NumMedia": "0",
    }
    signature = sign_webhook(url, params, auth_token=settings.twilio_auth_token.get_secret_value())
    try:
        r = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {url} ({type(exc).__name__}); is `glassdesk run` running?", err=True)
        raise typer.Exit(2) from exc
    if r.status_code != 200:
        typer.echo(f"error: the webhook answered {r.status_code}: {r.text[:300]}", err=True)
        raise typer.Exit(1)
    typer.echo(f"accepted {params['MessageSid']}; the reply will appear in var/sms/ and on the status page")


@feedback_app.command("add")
def feedback_add(
    text: Annotated[str, typer.Option("--text", help="The example message; personal data is redacted before storing.")],
    label: Annotated[str, typer.Option("--label", help="The correct intent (one the live model knows).")],
    actor: Annotated[str, typer.Option("--actor", help="Who made the correction.")] = "cli",
) -> None:
    """Store an intent correction; `glassdesk ops retrain` (or the daily run) learns from it."""
    from flows.ops import INTENT_CORRECTION
    from services.intent_source import live_intent_model_dir
    from understanding import ModelArtifactError, Redactor, read_metadata

    settings = _settings()
    label = label.strip()
    try:
        model_dir = live_intent_model_dir(settings.model_dir)
        known = read_metadata(model_dir).labels
    except ModelArtifactError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if label not in known:
        typer.echo(
            f"error: --label {label!r} is not an intent of the live model ({model_dir}); "
            f"use one of: {', '.join(sorted(known))}",
            err=True,
        )
        raise typer.Exit(2)
    redacted = Redactor().redact(text).text.strip()
    if not redacted:
        typer.echo("error: --text is empty; pass the customer's message that was misclassified", err=True)
        raise typer.Exit(2)

    async def go(s: Any) -> str:
        return await s.feedback.add(INTENT_CORRECTION, actor=actor, label=label, text=redacted)

    fid = _with_services(settings, go)
    typer.echo(f"stored {fid}: {label!r} <- {redacted!r}")


@feedback_app.command("list")
def feedback_list(
    unused: Annotated[bool, typer.Option("--unused", help="Only feedback no model has learned from yet.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List stored feedback, oldest first (texts are stored redacted)."""

    async def go(s: Any) -> list[dict[str, Any]]:
        return await s.feedback.list(unused_only=unused)

    rows = _with_services(_settings(), go)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no feedback")
        return
    for r in rows:
        used = f"used in {r['used_in_model']}" if r["used_in_model"] else "unused"
        typer.echo(
            f"{r['id']}  {r['created_at']:%Y-%m-%d %H:%M}  {r['kind']:<17} {r['label'] or '-':<20} "
            f"{used:<32} {r['actor']}: {r['text'] or ''}"
        )


@ops_app.command("retrain")
def ops_retrain(as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False) -> None:
    """Run the retrain-intents flow now: learn from new corrections, promote only if not worse."""
    from flows.ops import retrain_intents

    summary = _run_flow(retrain_intents)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    typer.echo(f"{summary['decision']}: {summary['reason']}")
    if summary.get("before") or summary.get("after"):
        before, after = summary.get("before") or {}, summary["after"]
        typer.echo(
            f"  accuracy {before.get('accuracy', '-')} -> {after['accuracy']}   "
            f"model {summary['live_model_id_before']} -> {summary['live_model_id_after']}   "
            f"new corrections {summary['n_feedback_new']}"
        )


@ops_app.command("reingest-kb")
def ops_reingest_kb(
    directory: Annotated[Path | None, typer.Argument(help="Articles folder (default: the shipped articles).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the reingest-knowledge flow now: validate the articles and rebuild var/kb-index."""
    from flows.ops import reingest_knowledge

    summary = _run_flow(reingest_knowledge, articles_dir=str(directory.resolve()) if directory else None)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    typer.echo(f"re-ingested {summary['articles']} articles from {summary['articles_dir']} into {summary['index_dir']}")


@ops_app.command("serve")
def ops_serve() -> None:
    """Serve the ops flows to Prefect until Ctrl-C: retrain daily, retention purge daily, fairness audit
    weekly, knowledge re-ingest on demand (each can be run from the UI)."""
    import os

    from runtime.ops_serve import serve_ops

    settings = _settings()
    raise typer.Exit(serve_ops(settings, api_url=os.environ.get("PREFECT_API_URL") or settings.prefect_api_url))


def _with_services(settings: Settings, coro_fn: Any) -> Any:
    from runtime.compose import open_container

    async def main() -> Any:
        async with open_container(settings) as services:
            return await coro_fn(services)

    return asyncio.run(main())


def _run_flow(flow_fn: Any, **params: Any) -> dict[str, Any]:
    """Run a flow in this process against the configured Prefect API; a clear error when it is down."""
    import os

    import httpx
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    settings = _settings()
    url = os.environ.get("PREFECT_API_URL") or settings.prefect_api_url
    auth = settings.prefect_auth_string()
    try:
        user, _, password = auth.partition(":")
        up = httpx.get(url.rstrip("/") + "/health", timeout=3, auth=(user, password)).status_code == 200
    except httpx.HTTPError:
        up = False
    if not up:
        typer.echo(
            f"error: the Prefect API at {url} does not answer; start it with `glassdesk run` "
            "(or `prefect server start`), or set GLASSDESK_PREFECT_API_URL",
            err=True,
        )
        raise typer.Exit(2)
    with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_API_AUTH_STRING: auth}):
        try:
            return asyncio.run(flow_fn(**params))
        except Exception as exc:  # the flow run failed; its message says what and where
            typer.echo(f"error: {flow_fn.name} failed: {exc}", err=True)
            raise typer.Exit(1) from exc


async def _until_signal(serve: Callable[[Settings, asyncio.Event], Awaitable[None]], settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


# Sub-commands contributed by other packages, imported only when called so that `glassdesk --help`
# (and every other command) starts without scikit-learn, LangChain or Prefect.
_SUB_APPS: dict[str, tuple[str, str, str]] = {
    "intents": ("understanding.cli", "intents_app", "Train, evaluate and run the intent classifier."),
    "sentiment": (
        "understanding.sentiment_cli",
        "sentiment_app",
        "Train and evaluate the sentiment and emotion model.",
    ),
    "pii": ("understanding.cli", "pii_app", "Detect and redact personal data."),
    "email": ("channels.email.cli", "email_app", "Parse email."),
    "kb": ("knowledge.cli", "kb_app", "The knowledge base."),
    "policy": ("runtime.policy_cli", "policy_app", "Validate, simulate, publish and roll back routing policies."),
    "audit": ("runtime.audit_cli", "audit_app", "Verify the audit log's hash chain; audit routing for fairness."),
    "gdpr": (
        "runtime.gdpr_cli",
        "gdpr_app",
        "Data-subject requests: export, erasure, retention, records of processing.",
    ),
    "users": ("runtime.users_cli", "users_app", "Staff accounts: create the first admin, reset passwords."),
}


def _mount_sub_apps(argv: list[str]) -> None:
    import importlib

    called = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, attr, help_text) in _SUB_APPS.items():
        if name == called:
            sub = getattr(importlib.import_module(module), attr)
            if name == "audit":  # `glassdesk audit fairness` lives with the fairness service
                from runtime.fairness_cli import fairness

                sub.command("fairness")(fairness)
        else:  # listed in --help with its summary; never imported
            sub = typer.Typer(help=help_text, no_args_is_help=True)
        app.add_typer(sub, name=name, help=help_text)


def main() -> None:
    import sys

    _mount_sub_apps(sys.argv[1:])
    app()
