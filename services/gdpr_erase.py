"""Art. 17 erasure: one request, a second admin's approval, a cascade through every store, a receipt.

1. ``request`` records who asked (status ``requested``; the row names the contact until it is done).
2. ``approve`` by a *different* person checks the legal holds (``services.gdpr_holds``): a hold blocks
   the erasure (status ``blocked``, the reason in the answer, nothing deleted). Otherwise the customer is
   told on each channel they used (``Deliverer.deliver``, before anything goes), then, in this order:
   Prefect flow runs naming them, Redis (keys, members, stream and pending entries), intent models
   trained on their corrections (retrained without them), blobs only they use (attachments, raw mail,
   quarantined mail that names them), var/ logs and development sinks, the audit entries that name them,
   and last the SQL rows in one transaction. The audit log is append-only and hash-chained: its entries
   stay, but their details are redacted (``SqlAuditLog.redact``, migration 0006_audit_digest): the data
   becomes a marker naming the receipt, an object or actor that names the subject becomes its
   pseudonym, and ``glassdesk audit verify`` still passes. By their contract entries hold ids and counts
   only; the receipt also counts any entry that named one of the subject's identifiers
   (``audit.entries_naming_identifiers``, 0 when the contract holds). SQL goes last so that a failed
   store leaves everything findable: approving the failed request again finishes the job. A second
   Redis and audit sweep catches what a concurrent turn or agent wrote meanwhile; the AOF is then
   rewritten and the database compacted so the disk forgets too.
3. The receipt keeps no personal data: the HMAC pseudonym, counts per store, who asked and approved,
   when, and the outcome.

Not erased here (see the receipt's ``detail`` and README): provider-side copies (Twilio message logs,
the SMTP relay's and recipients' mailboxes), backups, the back office's own records, Prefect log lines
of deleted runs (counted as ``prefect.logs_left``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from conversation import AuthorKind
from conversation.errors import GlassdeskError, NotFound
from conversation.sql.audit import REDACTION_KEY, Redaction
from conversation.sql.gdpr import Row, SqlGdpr, SubjectRecords
from conversation.sql.receipts import ErasureReceipt, ReceiptStatus, SqlErasureReceipts
from conversation.sql.rows import aware
from services.container import Container
from services.gdpr_files import VarFiles, scrub_files
from services.gdpr_holds import Hold, holds_of
from services.gdpr_models import RETRAIN_LOCK, retrain_without
from services.gdpr_prefect import FlowRunStore
from services.gdpr_redis import rewrite_persistence, scrub_redis
from services.gdpr_subject import Matcher, Subject, pseudonym, subject_of

__all__ = ["Eraser", "ErasureOutcome", "ErasureRefused", "NOTICE"]

NOTICE = {
    "en": "We have received your request to erase your data. Your messages and contact details are being "
    "deleted from our customer service system now; this is our last message about them.",
    "de": "Wir haben Ihren Antrag auf Löschung Ihrer Daten erhalten. Ihre Nachrichten und Kontaktdaten werden "
    "jetzt aus unserem Kundenservice-System gelöscht; dies ist unsere letzte Nachricht dazu.",
}
_INTENT_CORRECTION = "intent_correction"
_RETRAIN_LEASE_S = 1800


class ErasureRefused(ValueError):
    """The request cannot go ahead as asked (same person approving, wrong state); the message says why."""


@dataclass(frozen=True, slots=True)
class ErasureOutcome:
    receipt: ErasureReceipt | None  # None for a dry run
    holds: tuple[Hold, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)  # the dry run's plan, or the receipt's counts

    def public(self) -> dict[str, Any]:
        return {
            "receipt": self.receipt.public() if self.receipt else None,
            "counts": self.counts,
            "holds": [{"kind": h.kind.value, "reference": h.reference, "reason": h.reason} for h in self.holds],
        }


class Eraser:
    def __init__(self, services: Container, *, runs: FlowRunStore) -> None:
        self._s = services
        self._runs = runs
        self._sql = SqlGdpr(services.db)
        self.receipts = SqlErasureReceipts(services.db)

    async def _secret(self) -> str:
        return await asyncio.to_thread(self._s.settings.secret_key)

    # -- the four-eyes procedure ----------------------------------------------------------------------
    async def request(self, contact_id: str, *, requested_by: str) -> ErasureReceipt:
        root = await self._sql.resolve(contact_id)
        return await self.receipts.request(
            subject=pseudonym(await self._secret(), root),
            contact_id=root,
            requested_by=_actor(requested_by, "requested_by"),
        )

    async def approve(
        self, receipt_id: str, *, approved_by: str, claims_checked_by: str | None = None
    ) -> ErasureOutcome:
        receipt = await self.receipts.get(receipt_id)
        approver = _actor(approved_by, "approved_by")
        if approver.casefold() == receipt.requested_by.casefold():
            raise ErasureRefused(f"{approver} asked for this erasure; a second admin must approve it")
        if receipt.status not in _APPROVABLE or receipt.contact_id is None:
            raise ErasureRefused(
                f"erasure request {receipt_id} is {receipt.status.value}; only a requested, "
                "blocked or failed request can be approved"
            )
        records = await self._sql.records(receipt.contact_id)
        holds = await holds_of(self._s, records, claims_checked_by=claims_checked_by)
        if holds:
            detail = "blocked by " + "; ".join(sorted({h.receipt_text() for h in holds}))
            blocked = await self.receipts.finish(
                receipt_id, status=ReceiptStatus.BLOCKED, counts={}, detail=detail, clear_contact=False
            )
            return ErasureOutcome(blocked, tuple(holds))
        running = await self.receipts.start(receipt_id, approved_by=approver, expect=_APPROVABLE)
        counts: dict[str, int] = {}
        stage = "notice"
        try:
            if receipt.counts.get("notice.sent"):  # told in an earlier attempt: not twice
                counts |= {k: v for k, v in receipt.counts.items() if k.startswith("notice.")}
            else:
                counts |= await self._notify(records)
            stage = "collect"
            subject = subject_of(await self._sql.records(records.contact_id), secret=await self._secret())
            counts |= await self._cascade(subject, running)
        except Exception as exc:  # noqa: BLE001 - any store's failure: recorded on the receipt, retried by approving again
            # our own errors say what to do; a driver's message can quote row values: only its class
            why = f"{type(exc).__name__}: {exc}" if isinstance(exc, GlassdeskError) else type(exc).__name__
            detail = f"failed at {_stage(counts, stage)}: {why}"[:1000]
            failed = await self.receipts.finish(
                receipt_id,
                status=ReceiptStatus.FAILED,
                counts=counts,
                detail=detail + "; approve the request again to finish",
                clear_contact=False,
            )
            return ErasureOutcome(failed, (), counts)
        note = (
            "not erased here: provider copies (Twilio message logs, mail relay and mailboxes), backups, "
            "the back office's records"
        )
        if claims_checked_by:
            note += f"; open claims checked by {claims_checked_by[:64]}"
        done = await self.receipts.finish(
            receipt_id, status=ReceiptStatus.COMPLETED, counts=counts, detail=note, clear_contact=True
        )
        await self._s.audit.record(
            actor=approver,
            action="gdpr.erased",
            object_id=receipt_id,
            data={"subject": done.subject, "requested_by": done.requested_by},
        )
        return ErasureOutcome(done, (), counts)

    async def reject(self, receipt_id: str, *, rejected_by: str, reason: str) -> ErasureReceipt:
        receipt = await self.receipts.get(receipt_id)
        if receipt.status not in _APPROVABLE:
            raise ErasureRefused(f"erasure request {receipt_id} is {receipt.status.value}; it cannot be rejected")
        await self.receipts.start(receipt_id, approved_by=_actor(rejected_by, "rejected_by"), expect=_APPROVABLE)
        return await self.receipts.finish(
            receipt_id,
            status=ReceiptStatus.REJECTED,
            counts={},
            detail=f"rejected: {reason.strip()[:500]}",
            clear_contact=True,
        )

    async def erase(
        self, contact_id: str, *, requested_by: str, approved_by: str, claims_checked_by: str | None = None
    ) -> ErasureOutcome:
        """Both steps at once (the CLI, where both people are named on the command line)."""
        if _actor(requested_by, "requested_by").casefold() == _actor(approved_by, "approved_by").casefold():
            raise ErasureRefused("--requested-by and --approved-by name the same person; a second admin must approve")
        receipt = await self.request(contact_id, requested_by=requested_by)
        return await self.approve(receipt.id, approved_by=approved_by, claims_checked_by=claims_checked_by)

    async def plan(self, contact_id: str, *, claims_checked_by: str | None = None) -> ErasureOutcome:
        """The dry run: what each store would lose, and the holds; nothing changes, nothing is sent."""
        records = await self._sql.records(contact_id)
        subject = subject_of(records, secret=await self._secret())
        counts = {f"sql.{table}": len(getattr(records, part)) for table, part in _SQL_PARTS.items()}
        counts |= await self._cascade(subject, None)
        holds = await holds_of(self._s, records, claims_checked_by=claims_checked_by)
        return ErasureOutcome(None, tuple(holds), counts)

    # -- telling the customer -------------------------------------------------------------------------
    async def _notify(self, records: SubjectRecords) -> dict[str, int]:
        """One notice on each channel the customer used (their newest conversation there)."""
        latest: dict[str, Row] = {}
        for conv in records.conversations:
            if conv["channel"] not in latest or str(conv["updated_at"]) > str(latest[conv["channel"]]["updated_at"]):
                latest[conv["channel"]] = conv
        sent = failed = 0
        for conv in latest.values():
            language = conv.get("language") if conv.get("language") in NOTICE else "en"
            try:
                await self._s.deliverer.deliver(
                    conv["id"],
                    NOTICE[str(language)],
                    author_kind=AuthorKind.SYSTEM,
                    language=str(language),
                    causation_id=None,
                )
                sent += 1
            except Exception:  # noqa: BLE001 - the erasure goes ahead; the receipt counts the failed notice
                failed += 1
        return {"notice.sent": sent, "notice.failed": failed, "notice.no_channel": int(not latest)}

    # -- the cascade ----------------------------------------------------------------------------------
    async def _cascade(self, subject: Subject, receipt: ErasureReceipt | None) -> dict[str, int]:
        """Every store, SQL last; ``receipt`` None: a dry run that only counts."""
        dry = receipt is None
        s, records, matcher = self._s, subject.records, subject.matcher()
        identifiers = Matcher(subject.identifiers)
        counts: dict[str, int] = {
            "audit.entries_naming_identifiers": sum(
                1 for a in records.audit if identifiers.search(f"{a.get('object_id')} {a.get('data')}")
            ),
        }
        since = _earliest(records)
        runs = await self._runs.erase_naming(matcher, since=since - timedelta(days=1) if since else None, dry_run=dry)
        counts |= {"prefect.flow_runs": runs.flow_runs, "prefect.logs_left": runs.logs_left}
        counts |= _prefixed("redis", await scrub_redis(s.redis, matcher, dry_run=dry))
        counts |= await self._models(records, dry_run=dry)
        quarantined = await self._quarantine_naming(subject.addresses())
        counts |= await self._blobs(subject, quarantined, dry_run=dry)
        counts |= _prefixed(
            "files", await asyncio.to_thread(scrub_files, VarFiles.under(s.settings.var_dir), matcher, dry_run=dry)
        )
        if receipt is None:  # the dry run
            counts["sql.quarantine"] = len(quarantined)
            counts["audit.entries_redacted"] = sum(1 for a in records.audit if not _redacted(a))
            return counts
        counts["audit.entries_redacted"] = await self._redact_audit(subject, records.audit, receipt)
        counts |= _prefixed("sql", await self._sql.erase(records, quarantine_ids=[q["id"] for q in quarantined]))
        # entries written meanwhile (an agent opened the conversation during the erasure)
        late_audit = await self._sql.audit_naming(sorted(subject.ids))
        counts["audit.late_entries_redacted"] = await self._redact_audit(subject, late_audit, receipt)
        counts["sql.compacted"] = int(await self._sql.compact())
        late = await scrub_redis(s.redis, matcher)
        counts["redis.late_entries"] = sum(late.values())
        counts["redis.persistence_rewritten"] = int(await rewrite_persistence(s.redis))
        return counts

    async def _redact_audit(self, subject: Subject, entries: Sequence[Row], receipt: ErasureReceipt) -> int:
        """Blank the details of the audit entries that name the subject (the chain still verifies)."""
        names = subject.matcher()
        redactions = [
            Redaction(
                seq=int(a["seq"]),
                actor=_REDACTED_ACTOR if names.search(str(a["actor"])) else str(a["actor"]),
                object_id=subject.pseudonym if names.search(a.get("object_id")) else a.get("object_id"),
            )
            for a in entries
            if not _redacted(a)
        ]
        return await self._s.audit.redact(
            redactions, by=receipt.approved_by or receipt.requested_by, receipt_id=receipt.id
        )

    async def _models(self, records: SubjectRecords, *, dry_run: bool) -> dict[str, int]:
        from understanding import LabelledExample

        mine = {f["id"] for f in records.feedback}
        corrections = [f for f in records.feedback if f["kind"] == _INTENT_CORRECTION]
        if not corrections:
            return {"models.retrained": 0, "models.removed_dirs": 0}
        since = min(aware(f["created_at"]) for f in corrections)
        rest = [
            r
            for r in await self._s.feedback.list(kind=_INTENT_CORRECTION)
            if r["id"] not in mine and (r.get("label") or "").strip() and (r.get("text") or "").strip()
        ]
        examples = [LabelledExample(text=r["text"], label=r["label"]) for r in rest]
        root = self._s.settings.model_dir
        if dry_run:
            result = await asyncio.to_thread(retrain_without, root, since=since, examples=examples, dry_run=True)
        else:
            async with self._s.locks.hold(RETRAIN_LOCK, timeout_s=_RETRAIN_LEASE_S, wait_s=60):
                result = await asyncio.to_thread(retrain_without, root, since=since, examples=examples)
            if result.retrained_model_id:
                await self._s.feedback.mark_used([r["id"] for r in rest], model_id=result.retrained_model_id)
        return {
            "models.retrained": int(result.retrained_model_id is not None),
            "models.removed_dirs": result.removed_dirs,
            "models.retrain_ms": int(result.seconds * 1000),
        }

    async def _quarantine_naming(self, addresses: Matcher) -> list[Row]:
        """Quarantined mail (raw bytes in the blob store) that names one of the subject's addresses."""
        out = []
        for entry in await self._sql.quarantine_entries():
            try:
                raw = await self._s.blobs.get(str(entry["blob_key"]))
            except NotFound:
                raw = b""
            if addresses.search(raw) or addresses.search(str(entry.get("detail"))):
                out.append(entry)
        return out

    async def _blobs(self, subject: Subject, quarantined: list[Row], *, dry_run: bool) -> dict[str, int]:
        keys = set(subject.blob_keys) | {str(q["blob_key"]) for q in quarantined}
        shared = await self._sql.blob_keys_used_elsewhere(
            keys, conversation_ids=subject.records.conversation_ids, quarantine_ids=[q["id"] for q in quarantined]
        )
        doomed = sorted(keys - shared)
        if not dry_run:
            for key in doomed:
                with contextlib.suppress(NotFound):
                    await self._s.blobs.delete(key)
        return {"blobs.deleted": len(doomed), "blobs.shared_kept": len(shared)}


_APPROVABLE = {ReceiptStatus.REQUESTED, ReceiptStatus.BLOCKED, ReceiptStatus.FAILED}
_REDACTED_ACTOR = "redacted"
_SQL_PARTS = {
    "contacts": "contacts",
    "channel_identities": "identities",
    "identity_merges": "merges",
    "conversations": "conversations",
    "messages": "messages",
    "events": "events",
    "decisions": "decisions",
    "outbox": "outbox",
    "feedback": "feedback",
    "legal_holds": "holds",
}  # table -> SubjectRecords field


def _actor(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 64:
        raise ErasureRefused(f"{what}: name the person in 1-64 characters")
    return name


def _redacted(entry: Row) -> bool:
    data = entry.get("data")
    return isinstance(data, dict) and list(data) == [REDACTION_KEY]


def _prefixed(prefix: str, counts: dict[str, int]) -> dict[str, int]:
    return {f"{prefix}.{k}": int(v) for k, v in counts.items()}


def _stage(counts: dict[str, int], stage: str) -> str:
    if stage == "notice":
        return "the notice"
    done = {k.split(".")[0] for k in counts}
    for name in ("prefect", "redis", "models", "blobs", "files", "sql"):
        if name not in done:
            return name
    return "the final Redis sweep"


def _earliest(records: SubjectRecords) -> datetime | None:
    times = [aware(c["created_at"]) for c in records.conversations if c.get("created_at")]
    return min(times) if times else None
