"""`glassdesk policy`: validate, simulate, publish, list, diff and roll back routing policies.

With four-eyes publishing (on unless in demo mode) `publish` and `rollback` print the id of a request
that another admin approves with `glassdesk policy approve ID --by NAME` (or on the admin page); the
rules are those of ``services.policy_admin``, the same the page applies."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from services.settings import Settings

__all__ = ["policy_app"]

policy_app = typer.Typer(no_args_is_help=True)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        typer.echo(f"{file}: no such file", err=True)
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        typer.echo(f"{file}: not UTF-8 text; save the policy as UTF-8 YAML", err=True)
        raise typer.Exit(2) from None


def _load(text: str, source: str) -> Any:
    from policies import PolicyError, load_policy

    try:
        return load_policy(text, source=source)
    except PolicyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def _run(coro_fn: Any) -> Any:
    from runtime.compose import open_container

    async def main() -> Any:
        async with open_container(Settings()) as services:
            return await coro_fn(services)

    return asyncio.run(main())


@policy_app.command("validate")
def validate_cmd(file: Path) -> None:
    """Check a policy file; errors name file:line:column, the field and the fix."""
    policy = _load(_read(file), str(file))
    typer.echo(f"{file}: valid ({len(policy.rules)} rules, default {policy.default.route.value})")


def _refused(exc: Exception, *, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code)


def _outcome(outcome: Any, *, done: str) -> None:
    if outcome.request is not None:
        request = outcome.request
        typer.echo(f"requested {request.id}: it waits for a second admin (four-eyes publishing)")
        typer.echo(
            f"  approve: glassdesk policy approve {request.id} --by NAME   (NAME: another admin than "
            f"{request.requested_by})"
        )
        return
    typer.echo(done.format(version=outcome.published.version))


@policy_app.command("publish")
def publish_cmd(
    file: Path,
    message: Annotated[str, typer.Option("-m", "--message", help="Why this change (kept in the history).")],
    author: Annotated[str, typer.Option(help="Who publishes (with four-eyes publishing: an admin account).")] = "cli",
) -> None:
    """Publish FILE as the new live policy version (it must validate first); with four-eyes publishing,
    ask a second admin to: prints the request id."""
    from conversation.errors import NotFound
    from services.policy_admin import PublishRefused, StalePreview

    text = _read(file)
    _load(text, str(file))

    async def go(s: Any) -> Any:
        from services.policy_admin import publish_policy

        return await publish_policy(s, text, author=author, message=message, source=str(file))

    try:
        outcome = _run(go)
    except (PublishRefused, StalePreview, NotFound) as exc:
        raise _refused(exc) from exc
    _outcome(outcome, done="published policy version {version}")


@policy_app.command("requests")
def requests_cmd(
    show_all: Annotated[bool, typer.Option("--all", help="Also the decided requests (newest 50).")] = False,
) -> None:
    """Policy changes waiting for a second admin (four-eyes publishing), newest first."""
    from conversation.sql import RequestKind, RequestStatus

    status = None if show_all else RequestStatus.PENDING
    rows = _run(lambda s: s.policies.requests(status=status))
    if not rows:
        typer.echo("no pending policy requests" if not show_all else "no policy requests")
    for r in rows:
        what = f"rollback to v{r.target_version}" if r.kind is RequestKind.ROLLBACK else "publish"
        decided = f"  {r.status.value} by {r.decided_by or '-'}" if r.status is not RequestStatus.PENDING else ""
        typer.echo(
            f"{r.id}  {r.requested_at:%Y-%m-%d %H:%M}  {what:<16} on v{r.base_version or '-'}  "
            f"{r.requested_by}: {r.message}{decided}"
        )


@policy_app.command("approve")
def approve_cmd(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request id (pr_…).")],
    by: Annotated[str, typer.Option("--by", help="The approving admin: not the one who asked.")],
) -> None:
    """A second admin approves request ID: its change goes live now."""
    from conversation.errors import NotFound
    from policies import PolicyError
    from services.policy_admin import PublishRefused, StalePreview

    async def go(s: Any) -> Any:
        from services.policy_admin import approve_request

        return await approve_request(s, request_id, approver=by)

    try:
        _request, stored = _run(go)
    except (PublishRefused, StalePreview, NotFound) as exc:  # self-approval among them
        raise _refused(exc) from exc
    except PolicyError as exc:
        raise _refused(exc, code=1) from exc
    typer.echo(
        f"approved {request_id}: policy version {stored.version} is live (asked by {stored.author}, "
        f"approved by {stored.approved_by})"
    )


@policy_app.command("reject")
def reject_cmd(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request id (pr_…).")],
    by: Annotated[str, typer.Option("--by", help="The admin deciding; the requester withdraws their own.")],
    note: Annotated[str, typer.Option("--note", help="Why (kept with the request).")] = "",
) -> None:
    """Reject request ID (or withdraw your own): nothing goes live."""
    from conversation.errors import NotFound
    from services.policy_admin import PublishRefused

    async def go(s: Any) -> Any:
        from services.policy_admin import reject_request

        return await reject_request(s, request_id, by=by, note=note.strip()[:400])

    try:
        decided = _run(go)
    except (PublishRefused, NotFound) as exc:
        raise _refused(exc) from exc
    typer.echo(f"{decided.id} is {decided.status.value}: nothing changed")


@policy_app.command("list")
def list_cmd() -> None:
    """The version history, newest first."""
    for p in _run(lambda s: s.policies.history()):
        extra = f" (rollback of v{p.rolled_back_from})" if p.rolled_back_from else ""
        extra += f" (approved by {p.approved_by})" if p.approved_by else ""
        typer.echo(f"v{p.version}  {p.created_at:%Y-%m-%d %H:%M}  {p.author}: {p.message}{extra}")


@policy_app.command("diff")
def diff_cmd(old: int, new: Annotated[int | None, typer.Argument()] = None) -> None:
    """Unified diff between two versions (NEW defaults to the live one)."""
    from policies import diff_policies

    async def go(s: Any) -> tuple[Any, Any]:
        a = await s.policies.get(old)
        b = await s.policies.get(new) if new is not None else await s.policies.active()
        return a, b

    a, b = _run(go)
    typer.echo(diff_policies(a.text, b.text, old_label=f"v{a.version}", new_label=f"v{b.version}") or "(no change)")


@policy_app.command("rollback")
def rollback_cmd(
    version: int,
    author: Annotated[str, typer.Option(help="Who rolls back (with four-eyes publishing: an admin account).")] = "cli",
    message: Annotated[str, typer.Option("-m", "--message", help="Why (kept in the history).")] = "",
) -> None:
    """Make VERSION live again, as a new version (history stays immutable); with four-eyes
    publishing, ask a second admin to: prints the request id."""
    from conversation.errors import NotFound
    from policies import PolicyError
    from services.policy_admin import PublishRefused

    async def go(s: Any) -> Any:
        from services.policy_admin import rollback_policy

        return await rollback_policy(s, version, author=author, message=message.strip() or None)

    try:
        outcome = _run(go)
    except PolicyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except (PublishRefused, NotFound) as exc:
        raise _refused(exc) from exc
    _outcome(outcome, done=f"version {version} is live again as version {{version}}")


def _since(value: str) -> dt.timedelta:
    m = re.fullmatch(r"(\d+)([dhm])", value)
    if not m:
        raise typer.BadParameter("write a duration like 7d, 12h or 30m")
    return dt.timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]: int(m.group(1))})


@policy_app.command("simulate")
def simulate_cmd(
    file: Path,
    since: Annotated[str, typer.Option(help="How far back to replay, e.g. 7d.")] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replay the stored facts of past turns through FILE and show the routes that would change."""
    from policies import Facts, GuardConfig, simulate

    draft = _load(_read(file), str(file))
    window = _since(since)

    async def history(s: Any) -> list[tuple[str, Facts, str]]:
        from services.policy_admin import replay_history

        return (await replay_history(s, since=window))[0]

    past = _run(history)
    settings = Settings()
    report = simulate(
        draft,
        past,
        guards=GuardConfig(refund_limit=settings.refund_limit, supported_languages=settings.supported_languages),
    )
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    typer.echo(f"replayed {len(past)} turns from the last {since}")
    typer.echo(f"{report.changed} of {report.total} would take another route")
    for tr in report.transitions:
        if tr.from_route != tr.to_route:
            examples = ", ".join(e.turn_id for e in tr.examples)
            typer.echo(f"  {tr.from_route} -> {tr.to_route}: {tr.count}   e.g. {examples}")
