"""The retention schedule: one period per data class (``retention_*`` settings), purged by
``flows.retention.purge_expired`` (nightly) or ``glassdesk gdpr retention``; a dry run counts first.

| class       | what goes                                                                 | period              |
|-------------|---------------------------------------------------------------------------|---------------------|
| messages    | conversations untouched this long, with messages, timeline, decisions,   | retention_messages  |
|             | outbox and feedback; then contacts left without a conversation            |                     |
| claims      | the same for conversations about an insurance claim                       | retention_claims    |
| attachments | attachment bytes, raw inbound emails, quarantined mail                    | retention_attachments |
| drafts      | AI draft texts in decision records, draft edit/reject feedback            | retention_drafts    |
| audit       | audit log entries: counted only, the log is append-only (0005_security)   | retention_audit     |
| receipts    | finished erasure receipts                                                 | retention_receipts  |
| queue       | turn-stream and dead-letter entries, orphaned lease counters, Prefect     | retention_queue     |
|             | flow runs that ended                                                      |                     |
| logs        | app log lines (var/log), RPA screenshots; dev sink files by the messages  | retention_logs      |
|             | period                                                                    |                     |

Conversations of contacts under a legal hold (manual, or an open claim) are kept, with their
attachments and drafts. Every function takes ``now`` so a test moves the clock instead of patching it."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from conversation import utcnow
from conversation.errors import NotFound, ServiceUnavailable
from conversation.sql.receipts import SqlErasureReceipts, SqlLegalHolds
from conversation.sql.retention import SqlRetention
from services.container import Container
from services.gdpr_files import VarFiles, purge_files
from services.gdpr_holds import held_contacts
from services.gdpr_prefect import FlowRunStore
from services.gdpr_redis import drop_orphan_fences, trim_streams
from services.settings import Settings

__all__ = ["DataClass", "RetentionPeriods", "RetentionReport", "RetentionPurge"]


@enum.unique
class DataClass(enum.StrEnum):
    MESSAGES = "messages"
    CLAIMS = "claims"
    ATTACHMENTS = "attachments"
    DRAFTS = "drafts"
    AUDIT = "audit"
    RECEIPTS = "receipts"
    QUEUE = "queue"
    LOGS = "logs"


@dataclass(frozen=True, slots=True)
class RetentionPeriods:
    days: dict[DataClass, int]

    @classmethod
    def of(cls, settings: Settings) -> RetentionPeriods:
        return cls({c: int(getattr(settings, f"retention_{c.value}_days")) for c in DataClass})

    def cutoff(self, data_class: DataClass, now: datetime) -> datetime:
        return now - timedelta(days=self.days[data_class])


@dataclass(frozen=True, slots=True)
class RetentionReport:
    dry_run: bool
    now: datetime
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "now": self.now.isoformat(), "counts": self.counts}


class RetentionPurge:
    def __init__(self, services: Container, *, runs: FlowRunStore | None = None) -> None:
        self._s = services
        self._runs = runs
        self._sql = SqlRetention(services.db)
        self.periods = RetentionPeriods.of(services.settings)

    async def run(self, *, now: datetime | None = None, dry_run: bool) -> RetentionReport:
        """Every class, in the order the flow runs them."""
        now = now or utcnow()
        report = RetentionReport(dry_run=dry_run, now=now)
        held = await self.held_conversations(now=now)
        report.counts.update(await self.conversations(now=now, dry_run=dry_run, held=held))
        report.counts[DataClass.ATTACHMENTS] = await self.attachments(now=now, dry_run=dry_run, held=held)
        report.counts[DataClass.DRAFTS] = await self.drafts(now=now, dry_run=dry_run, held=held)
        report.counts[DataClass.AUDIT] = await self.audit(now=now, dry_run=dry_run)
        report.counts[DataClass.RECEIPTS] = await self.receipts(now=now, dry_run=dry_run)
        report.counts[DataClass.QUEUE] = await self.queue(now=now, dry_run=dry_run)
        report.counts[DataClass.LOGS] = await self.files(now=now, dry_run=dry_run)
        return report

    async def held_conversations(self, *, now: datetime) -> frozenset[str]:
        """Conversations of contacts under a legal hold: a manual one, or an open claim of their customer."""
        manual = {h.contact_id for h in await SqlLegalHolds(self._s.db).all_active()}
        held = manual | await held_contacts(self._s, await self._sql.linked_contacts())
        return await self._sql.conversations_of(held)

    async def conversations(self, *, now: datetime, dry_run: bool, held: frozenset[str]) -> dict[str, dict[str, int]]:
        """The messages and claims classes, then the contacts they leave behind."""
        plain = [
            c
            for c in await self._sql.untouched_conversations(before=self.periods.cutoff(DataClass.MESSAGES, now))
            if not c.claim and c.id not in held
        ]
        claims = [
            c
            for c in await self._sql.untouched_conversations(before=self.periods.cutoff(DataClass.CLAIMS, now))
            if c.claim and c.id not in held
        ]
        gone = [c.id for c in plain + claims]
        orphans = await self._sql.contacts_left_without(gone) if dry_run else set()
        out = {
            DataClass.MESSAGES.value: await self._sql.delete_conversations([c.id for c in plain], dry_run=dry_run),
            DataClass.CLAIMS.value: await self._sql.delete_conversations([c.id for c in claims], dry_run=dry_run),
        }
        keep = {h.contact_id for h in await SqlLegalHolds(self._s.db).all_active()}
        orphans -= keep
        orphans |= set(await self._sql.orphan_contacts(before=self.periods.cutoff(DataClass.MESSAGES, now), keep=keep))
        out["contacts"] = await self._sql.delete_contacts(sorted(orphans), dry_run=dry_run)
        return out

    async def attachments(self, *, now: datetime, dry_run: bool, held: frozenset[str]) -> dict[str, int]:
        expired = await self._sql.expired_blobs(
            before=self.periods.cutoff(DataClass.ATTACHMENTS, now), keep_conversations=held
        )
        if dry_run:
            return {
                "blobs": len(expired.keys),
                "messages": len(expired.message_ids),
                "quarantine": len(expired.quarantine_ids),
            }
        for key in sorted(expired.keys):
            try:
                await self._s.blobs.delete(key)
            except NotFound:
                continue
        return {"blobs": len(expired.keys), **await self._sql.mark_blobs_purged(expired)}

    async def drafts(self, *, now: datetime, dry_run: bool, held: frozenset[str]) -> dict[str, int]:
        return await self._sql.purge_drafts(
            before=self.periods.cutoff(DataClass.DRAFTS, now), keep_conversations=held, dry_run=dry_run
        )

    async def audit(self, *, now: datetime, dry_run: bool) -> dict[str, int]:
        """Counted only: the audit log is append-only and hash-chained (0005_security); removing its oldest
        entries needs an archive-and-re-anchor procedure that ``conversation.sql.audit`` does not have yet."""
        past = await self._sql.audit_past(before=self.periods.cutoff(DataClass.AUDIT, now))
        return {"entries_past_period": past, "deleted": 0}

    async def receipts(self, *, now: datetime, dry_run: bool) -> dict[str, int]:
        return {
            "receipts": await SqlErasureReceipts(self._s.db).purge(
                before=self.periods.cutoff(DataClass.RECEIPTS, now), dry_run=dry_run
            )
        }

    async def queue(self, *, now: datetime, dry_run: bool) -> dict[str, int]:
        cutoff = self.periods.cutoff(DataClass.QUEUE, now)
        out = {
            "stream_entries": await trim_streams(
                self._s.redis, before_ms=int(cutoff.timestamp() * 1000), dry_run=dry_run
            ),
            "lease_counters": await drop_orphan_fences(
                self._s.redis, live_conversations=await self._sql.conversation_ids(), dry_run=dry_run
            ),
        }
        if self._runs is not None:
            try:
                out["prefect_flow_runs"] = await self._runs.delete_finished_before(cutoff, dry_run=dry_run)
            except ServiceUnavailable:
                out["prefect_unreachable"] = 1
        return out

    async def files(self, *, now: datetime, dry_run: bool) -> dict[str, int]:
        return await asyncio.to_thread(
            purge_files,
            VarFiles.under(self._s.settings.var_dir),
            logs_before=self.periods.cutoff(DataClass.LOGS, now),
            sinks_before=self.periods.cutoff(DataClass.MESSAGES, now),
            dry_run=dry_run,
        )
