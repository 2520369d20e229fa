"""`glassdesk audit fairness`: run the fairness audit now, archive the report under var/fairness/.

Runs in this process (no Prefect server needed, so CI can call it); the `fairness-audit` flow in
``flows/fairness.py`` does the same on a schedule. Exit codes: 0 passed, 1 below the threshold (the
dimensions are named on stderr), 2 bad input or configuration."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from policies import Policy
    from services.fairness import FairnessReport
    from services.settings import Settings

__all__ = ["fairness_app", "fairness"]

fairness_app = typer.Typer(help="Audits of the routing.", no_args_is_help=True)


@fairness_app.callback()
def _group() -> None:
    """Audits of the routing."""  # a callback keeps `fairness` a sub-command even while it is the only one


def _settings() -> Settings:
    from services.settings import Settings

    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: a config error, not a traceback
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _policy(settings: Settings, policy_file: Path | None) -> Policy:
    from policies import PolicyError, load_policy_file

    if policy_file is not None:
        try:
            return load_policy_file(policy_file, version=f"file:{policy_file.name}")
        except PolicyError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        except OSError as exc:
            typer.echo(f"{policy_file}: cannot read the policy ({exc.strerror or exc})", err=True)
            raise typer.Exit(2) from None
    from runtime.compose import open_container
    from services.fairness import live_policy

    async def read() -> Policy:
        async with open_container(settings) as services:
            return await live_policy(services.policies)

    return asyncio.run(read())


def _summary(report: FairnessReport, archived: Path) -> str:
    lines = [
        f"fairness audit {'passed' if report.passed else 'FAILED'}: {report.identical:.1%} identical "
        f"routing of {report.pairs} pairs from {report.templates} templates on {len(report.channels)} "
        f"channels ({report.evaluations} evaluations), threshold {report.min_identical:.1%}",
        f"policy {report.policy_name}, version {report.policy_version}; model {report.model_id or '?'}",
    ]
    for d in report.dimensions:
        mark = "ok  " if d.passed else "FAIL"
        lines.append(
            f"  {mark} {d.dimension.value:<14} {d.identical:7.1%} identical of {d.evaluations:>5}   "
            f"routes {d.identical_routes:.1%}  queues {d.identical_queues:.1%}  "
            f"priorities {d.identical_priorities:.1%}  handoff ratio {d.handoff_ratio:.2f}"
        )
    lines.append(f"report: {archived}")
    return "\n".join(lines)


def fairness(
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the JSON report to FILE.")] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", help="Audit this policy file (e.g. before publishing it) instead of the live policy."),
    ] = None,
    templates_file: Annotated[
        Path | None,
        typer.Option(
            "--templates",
            help="Counterfactual templates CSV (default: the shipped services/data/fairness_templates.csv).",
        ),
    ] = None,
    min_identical: Annotated[
        float | None,
        typer.Option(
            "--min-identical",
            min=0.0,
            max=1.0,
            help="Fail below this share of identical decisions (default: GLASSDESK_FAIRNESS_MIN_IDENTICAL).",
        ),
    ] = None,
) -> None:
    """Route counterfactual message pairs (name, gender, age, dialect, du/Sie) like real turns and
    compare: exits 1 when identical routing falls below the threshold in any dimension."""
    from services.fairness import (
        FairnessAuditFailed,
        archive_report,
        audit_guards,
        report_dir,
        require_pass,
        run_audit,
        turn_understander,
    )
    from services.fairness_pairs import (
        DEFAULT_TEMPLATES_PATH,
        FairnessTemplateError,
        counterfactual_pairs,
        load_templates,
    )

    settings = _settings()
    try:
        templates = load_templates(templates_file or DEFAULT_TEMPLATES_PATH)
    except FairnessTemplateError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    policy = _policy(settings, policy_file)
    understander, model_id = turn_understander(settings)
    report = run_audit(
        counterfactual_pairs(templates),
        understander=understander,
        policy=policy,
        guards=audit_guards(settings),
        model_id=model_id,
        templates=len(templates),
        min_identical=settings.fairness_min_identical if min_identical is None else min_identical,
    )
    archived = archive_report(report, report_dir(settings))
    text = json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text if as_json else _summary(report, archived))
    try:
        require_pass(report)
    except FairnessAuditFailed as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


fairness_app.command("fairness")(fairness)
