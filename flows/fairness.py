"""The fairness audit as a Prefect flow: counterfactual pairs routed like real turns, the report
archived under var/fairness/, an audit-log entry, and a Failed flow run when it is below the threshold.

Run it by hand (`glassdesk audit fairness` runs the same steps without Prefect), from the Prefect UI
or on a schedule. No personal data reaches Prefect: the messages are synthetic template sentences,
task results are not persisted, and the flow returns shares and ids only."""

from __future__ import annotations

import asyncio
import contextvars
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from policies import Policy
from services.container import Container
from services.fairness import FairnessAuditFailed, FairnessReport
from services.settings import Settings

__all__ = ["FAIRNESS_CRON", "FAIRNESS_FLOW_NAME", "fairness_audit"]

FAIRNESS_FLOW_NAME = "fairness-audit"
FAIRNESS_CRON = "0 5 * * 1"  # weekly, Monday morning in settings.timezone (after the nightly retrain)
ACTOR = "ops"

# The flow's container, for its tasks (never a task parameter: it holds clients and the settings' secrets)
_SERVICES: contextvars.ContextVar[Container] = contextvars.ContextVar("glassdesk_fairness_services")


def _task(fn: Any, *, retries: int = 0) -> Any:
    return task(
        fn,
        name=fn.__name__.lstrip("_").replace("_", "-"),
        retries=retries,
        retry_delay_seconds=1 if retries else 0,
        cache_policy=NONE,
        persist_result=False,
        log_prints=False,
    )


async def _read_live_policy() -> Policy:
    from services.fairness import live_policy

    return await live_policy(_SERVICES.get().policies)


async def _read_policy_file(path: str) -> Policy:
    from policies import load_policy_file

    return await asyncio.to_thread(load_policy_file, path, version=f"file:{Path(path).name}")


def _run_audit(
    settings: Settings, policy: Policy, min_identical: float | None, templates_file: str | None
) -> FairnessReport:
    from services.fairness import audit_guards, run_audit, turn_understander
    from services.fairness_pairs import DEFAULT_TEMPLATES_PATH, counterfactual_pairs, load_templates

    templates = load_templates(Path(templates_file) if templates_file else DEFAULT_TEMPLATES_PATH)
    understander, model_id = turn_understander(settings)
    threshold = settings.fairness_min_identical if min_identical is None else min_identical
    return run_audit(
        counterfactual_pairs(templates),
        understander=understander,
        policy=policy,
        guards=audit_guards(settings),
        model_id=model_id,
        templates=len(templates),
        min_identical=threshold,
    )


async def _audit(policy: Policy, min_identical: float | None, templates_file: str | None) -> FairnessReport:
    return await asyncio.to_thread(_run_audit, _SERVICES.get().settings, policy, min_identical, templates_file)


async def _archive(report: FairnessReport) -> str:
    from services.fairness import archive_report, report_dir

    return str(await asyncio.to_thread(archive_report, report, report_dir(_SERVICES.get().settings)))


async def _record(result: dict[str, Any]) -> None:
    await _SERVICES.get().audit.record(
        actor=ACTOR,
        action=f"fairness.audit.{'passed' if result['passed'] else 'failed'}",
        object_id=Path(str(result["report"])).name,
        data=result,
    )


read_live_policy = _task(_read_live_policy, retries=2)
read_policy_file = _task(_read_policy_file)
audit = _task(_audit)
archive = _task(_archive, retries=2)
record = _task(_record, retries=2)


@flow(name=FAIRNESS_FLOW_NAME, persist_result=False, log_prints=False)
async def fairness_audit(
    policy_file: str | None = None, min_identical: float | None = None, templates_file: str | None = None
) -> dict[str, Any]:
    """Audit the live policy (or ``policy_file``) with the live intent model over the shipped templates
    (or ``templates_file``); archive the report and fail the run when fewer than ``min_identical``
    (default: the setting) of the pairs route alike."""
    from runtime.compose import open_container
    from services.fairness import summary

    async with open_container(Settings()) as services:
        _SERVICES.set(services)
        policy = await (read_policy_file(policy_file) if policy_file else read_live_policy())
        report = await audit(policy, min_identical, templates_file)
        archived = await archive(report)
        result = summary(report, Path(archived))
        await record(result)
    get_run_logger().info(
        "fairness audit %s: %.1f%% identical over %s pair evaluations; failed: %s; report %s",
        "passed" if report.passed else "FAILED",
        100 * report.identical,
        report.evaluations,
        ", ".join(d.value for d in report.failed_dimensions) or "none",
        archived,
    )
    if not report.passed:
        raise FairnessAuditFailed(report)
    return result
