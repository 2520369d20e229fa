"""The retention flow: purge what is past its period, one task per data class (services.gdpr_retention).

A dry run (the default parameter) only counts; ``glassdesk gdpr retention`` prints that count before it
purges. Parameters are a flag and an optional ISO time, never personal data; task results are not
persisted and the summary carries counts only."""

from __future__ import annotations

import contextvars
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from services.settings import Settings

__all__ = ["RETENTION_CRON", "purge_expired"]

RETENTION_CRON = "15 4 * * *"  # daily, at night in settings.timezone
_PURGE: contextvars.ContextVar[Any] = contextvars.ContextVar("glassdesk_retention_purge")


def _task(fn: Any) -> Any:
    return task(
        fn,
        name=fn.__name__.lstrip("_").replace("_", "-"),
        retries=1,
        retry_delay_seconds=5,
        cache_policy=NONE,
        persist_result=False,
        log_prints=False,
    )


async def _find_held(now: datetime) -> frozenset[str]:
    held: frozenset[str] = await _PURGE.get().held_conversations(now=now)
    return held


async def _purge_conversations(now: datetime, dry_run: bool, held: frozenset[str]) -> dict[str, Any]:
    return dict(await _PURGE.get().conversations(now=now, dry_run=dry_run, held=held))


async def _purge_attachments(now: datetime, dry_run: bool, held: frozenset[str]) -> dict[str, int]:
    return dict(await _PURGE.get().attachments(now=now, dry_run=dry_run, held=held))


async def _purge_drafts(now: datetime, dry_run: bool, held: frozenset[str]) -> dict[str, int]:
    return dict(await _PURGE.get().drafts(now=now, dry_run=dry_run, held=held))


async def _count_audit(now: datetime, dry_run: bool) -> dict[str, int]:
    return dict(await _PURGE.get().audit(now=now, dry_run=dry_run))


async def _purge_receipts(now: datetime, dry_run: bool) -> dict[str, int]:
    return dict(await _PURGE.get().receipts(now=now, dry_run=dry_run))


async def _trim_queue(now: datetime, dry_run: bool) -> dict[str, int]:
    return dict(await _PURGE.get().queue(now=now, dry_run=dry_run))


async def _purge_files(now: datetime, dry_run: bool) -> dict[str, int]:
    return dict(await _PURGE.get().files(now=now, dry_run=dry_run))


find_held = _task(_find_held)
purge_conversations = _task(_purge_conversations)
purge_attachments = _task(_purge_attachments)
purge_drafts = _task(_purge_drafts)
count_audit = _task(_count_audit)
purge_receipts = _task(_purge_receipts)
trim_queue = _task(_trim_queue)
purge_files = _task(_purge_files)


@flow(name="retention-purge", persist_result=False, log_prints=False)
async def purge_expired(dry_run: bool = True, now: str | None = None) -> dict[str, Any]:
    """Delete (or with ``dry_run``, count) everything past its retention period, class by class.
    ``now``: an ISO time to purge as of (default: the current time)."""
    from conversation import utcnow
    from runtime.compose import open_container
    from services.gdpr_prefect import PrefectRestRuns
    from services.gdpr_retention import RetentionPurge

    at = datetime.fromisoformat(now) if now else utcnow()
    async with open_container(Settings()) as services:
        runs = await PrefectRestRuns.from_settings(services.settings)
        _PURGE.set(RetentionPurge(services, runs=runs))
        try:
            held = await find_held(at)
            counts: dict[str, Any] = await purge_conversations(at, dry_run, held)
            counts["attachments"] = await purge_attachments(at, dry_run, held)
            counts["drafts"] = await purge_drafts(at, dry_run, held)
            counts["audit"] = await count_audit(at, dry_run)
            counts["receipts"] = await purge_receipts(at, dry_run)
            counts["queue"] = await trim_queue(at, dry_run)
            counts["logs"] = await purge_files(at, dry_run)
        finally:
            await runs.aclose()
    get_run_logger().info("retention %s as of %s: %s", "dry run" if dry_run else "purge", at.isoformat(), counts)
    return {"dry_run": dry_run, "now": at.isoformat(), "held_conversations": len(held), "counts": counts}
