"""Art. 15 access / Art. 20 portability: one JSON document with everything about one contact.

The document (schema: ``services/schemas/gdpr_export.schema.json``, generated from the models below by
:func:`export_schema`) holds every message on every channel with its attachments (inline as base64,
or as files beside the JSON), the identities and merges, per conversation the classifications (the
UNDERSTOOD events), the decisions with their reason, rule and policy version, the drafts and who
approved, edited or rejected them, the timeline as the status page shows it (internal notes included
and marked ``internal``), the outcome of each resolution (the survey and the customer's answer: solved,
rating), the record of every merge (what it moved, and who undid it), the staff feedback about the contact's messages and the audit entries about
their data. Contacts merged into the contact are the same person and are included; other contacts'
data is not (a conversation belongs to exactly one contact; staff names appear only as the actors
of what was done)."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from conversation import EventType, utcnow
from conversation.errors import NotFound
from conversation.sql.gdpr import Row, SqlGdpr, SubjectRecords
from conversation.sql.rows import aware
from services.container import Container

__all__ = ["ExportDocument", "build_export", "write_export", "export_schema", "SCHEMA_PATH", "FORMAT"]

FORMAT = "glassdesk.gdpr-export/1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "gdpr_export.schema.json"
_HIDDEN_ON_STATUS_PAGE = {EventType.NOTE_ADDED.value, EventType.QUARANTINED.value, EventType.DELIVERY_UPDATED.value}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExportAttachment(_Doc):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    content_base64: str | None = None  # inline export
    file: str | None = None  # folder export: the path beside export.json
    missing: str | None = None  # why the bytes are not included (deleted under the retention schedule)


class ExportMessage(_Doc):
    id: str
    seq: int
    direction: str
    author_kind: str
    author_id: str | None
    channel: str
    external_id: str | None
    text: str
    subject: str | None
    delivery_status: str | None
    ai_generated: bool
    approved_by: str | None
    created_at: datetime
    attachments: list[ExportAttachment]


class ExportEvent(_Doc):
    id: str
    type: str
    actor: str
    occurred_at: datetime
    causation_id: str | None
    internal: bool  # staff only (internal notes and system steps the status page does not show)
    data: dict[str, Any]


class ExportClassification(_Doc):
    message_id: str | None
    occurred_at: datetime
    intent: str | None
    confidence: float | None
    language: str | None
    sentiment: str | None
    out_of_scope: bool | None
    asked_for_human: bool | None
    pii_kinds: list[str]


class ExportDraft(_Doc):
    text: str | None  # None once deleted under the retention schedule
    state: Literal["pending", "approved", "edited", "rejected"]
    reviewed_by: str | None
    reject_reason: str | None
    sent_message_id: str | None


class ExportDecision(_Doc):
    id: str
    inbound_message_id: str
    route: str
    rule_id: str
    policy_version: str
    reason: str
    confidence: float | None
    draft_mode: str | None
    model: str | None
    sources: list[str]
    lookups: list[dict[str, Any]]
    facts: dict[str, Any]
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    draft: ExportDraft | None


class ExportOutcome(_Doc):
    """One resolution of the conversation: when a person resolved it and what the customer answered."""

    id: str
    resolved_at: datetime
    survey_state: str  # asked | answered | superseded | not_sent
    solved: bool | None
    rating: int | None  # 1-5
    answered_at: datetime | None


class ExportConversation(_Doc):
    id: str
    channel: str
    status: str
    language: str | None
    queue: str | None
    priority: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    messages: list[ExportMessage]
    classifications: list[ExportClassification]
    decisions: list[ExportDecision]
    timeline: list[ExportEvent]
    outcomes: list[ExportOutcome]


class ExportIdentity(_Doc):
    id: str
    contact_id: str
    kind: str
    address: str
    verified: bool
    created_at: datetime


class ExportMerge(_Doc):
    id: str
    from_contact_id: str
    into_contact_id: str
    evidence: str
    actor: str
    created_at: datetime


class ExportMergeRecord(_Doc):
    """What a merge moved (ids only) and, when it was undone, who undid it and when."""

    merge_id: str
    from_contact_id: str
    into_contact_id: str
    evidence: str
    actor: str
    created_at: datetime
    identity_ids: list[str]
    conversation_ids: list[str]
    undone_at: datetime | None
    undone_by: str | None


class ExportFeedback(_Doc):
    id: str
    kind: str
    conversation_id: str | None
    message_id: str | None
    label: str | None
    text: str | None
    reason: str | None
    actor: str
    used_in_model: str | None
    created_at: datetime


class ExportAudit(_Doc):
    id: str
    actor: str
    action: str
    object_id: str | None
    at: datetime


class ExportContact(_Doc):
    id: str
    display_name: str | None
    backoffice_customer_id: str | None
    created_at: datetime


class ExportDocument(_Doc):
    format: Literal["glassdesk.gdpr-export/1"]
    generated_at: datetime
    contact_id: str
    contacts: list[ExportContact]
    identities: list[ExportIdentity]
    merges: list[ExportMerge]
    merge_records: list[ExportMergeRecord]
    conversations: list[ExportConversation]
    feedback: list[ExportFeedback]
    audit: list[ExportAudit]
    legal_holds: list[dict[str, Any]]
    notes: list[str]


def export_schema() -> dict[str, Any]:
    """The published JSON Schema (what ``SCHEMA_PATH`` holds)."""
    schema = ExportDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://glassdesk.local/schemas/gdpr_export.schema.json"
    return schema


async def build_export(
    services: Container,
    contact_id: str,
    *,
    attachments: Literal["inline", "files"] = "inline",
    now: datetime | None = None,
) -> tuple[ExportDocument, dict[str, bytes]]:
    """The document and, for ``attachments="files"``, the files to write beside it (path -> bytes)."""
    records = await SqlGdpr(services.db).records(contact_id)
    files: dict[str, bytes] = {}
    conversations = [await _conversation(services, records, conv, attachments, files) for conv in records.conversations]
    doc = ExportDocument(
        format=FORMAT,
        generated_at=now or utcnow(),
        contact_id=records.contact_id,
        contacts=[
            ExportContact(
                id=c["id"],
                display_name=c["display_name"],
                backoffice_customer_id=c["backoffice_customer_id"],
                created_at=aware(c["created_at"]),
            )
            for c in records.contacts
        ],
        identities=[
            ExportIdentity(
                id=i["id"],
                contact_id=i["contact_id"],
                kind=i["kind"],
                address=i["address"],
                verified=bool(i["verified"]),
                created_at=aware(i["created_at"]),
            )
            for i in records.identities
        ],
        merges=[ExportMerge(**_fields(ExportMerge, m)) for m in records.merges],
        merge_records=[ExportMergeRecord(**_fields(ExportMergeRecord, m)) for m in records.merge_records],
        conversations=conversations,
        feedback=[ExportFeedback(**_fields(ExportFeedback, f)) for f in records.feedback],
        audit=[
            ExportAudit(id=a["id"], actor=a["actor"], action=a["action"], object_id=a["object_id"], at=aware(a["at"]))
            for a in records.audit
        ],
        legal_holds=[
            {
                "id": h["id"],
                "reason": h["reason"],
                "placed_at": aware(h["placed_at"]).isoformat(),
                "released_at": aware(h["released_at"]).isoformat() if h["released_at"] else None,
            }
            for h in records.holds
        ],
        notes=_NOTES,
    )
    return doc, files


async def write_export(services: Container, contact_id: str, out_dir: Path) -> Path:
    """``out_dir/export.json`` with the attachments as files beside it; returns the JSON's path."""
    import asyncio

    doc, files = await build_export(services, contact_id, attachments="files")

    def write() -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        for rel, content in files.items():
            path = out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        target = out_dir / "export.json"
        target.write_text(json.dumps(doc.model_dump(mode="json"), ensure_ascii=False, indent=2), encoding="utf-8")
        return target

    return await asyncio.to_thread(write)


_NOTES = [
    "Every conversation of this contact (and of contacts merged into it after a verified proof) on every channel.",
    "timeline: every step taken on a request; internal=true marks what only staff see (internal notes, "
    "quarantine and delivery bookkeeping), the rest is what the status page shows.",
    "classifications come from the automatic understanding of each message (intent, language, sentiment); "
    "decisions name the policy rule, its version and the reason. No claim outcome is ever decided automatically.",
    "Not included: the raw MIME of inbound emails (it carries other recipients' addresses; available on request) "
    "and data held by the back office, which answers access requests itself.",
]


def _fields(model: type[_Doc], row: Row) -> dict[str, Any]:
    return {k: aware(row[k]) if isinstance(row[k], datetime) else row[k] for k in model.model_fields}


async def _conversation(
    services: Container, records: SubjectRecords, conv: Row, mode: str, files: dict[str, bytes]
) -> ExportConversation:
    messages = [m for m in records.messages if m["conversation_id"] == conv["id"]]
    events = [e for e in records.events if e["conversation_id"] == conv["id"]]
    decisions = [d for d in records.decisions if d["conversation_id"] == conv["id"]]
    return ExportConversation(
        id=conv["id"],
        channel=conv["channel"],
        status=conv["status"],
        language=conv["language"],
        queue=conv["queue"],
        priority=conv["priority"],
        assignee=conv["assignee"],
        created_at=aware(conv["created_at"]),
        updated_at=aware(conv["updated_at"]),
        messages=[await _message(services, m, mode, files) for m in messages],
        classifications=[_classification(e) for e in events if e["type"] == EventType.UNDERSTOOD.value],
        decisions=[_decision(d) for d in decisions],
        timeline=[
            ExportEvent(
                id=e["id"],
                type=e["type"],
                actor=e["actor"],
                occurred_at=aware(e["occurred_at"]),
                causation_id=e["causation_id"],
                internal=e["type"] in _HIDDEN_ON_STATUS_PAGE,
                data=dict(e["data"] or {}),
            )
            for e in events
        ],
        outcomes=[
            ExportOutcome(**_fields(ExportOutcome, o)) for o in records.outcomes if o["conversation_id"] == conv["id"]
        ],
    )


async def _message(services: Container, m: Row, mode: str, files: dict[str, bytes]) -> ExportMessage:
    meta = m["meta"] or {}
    attachments = []
    for a in m["attachments"] or []:
        extra: dict[str, Any] = {}
        try:
            content = await services.blobs.get(str(a["blob_key"]))
        except NotFound:
            extra["missing"] = "deleted under the retention schedule"
        else:
            if mode == "inline":
                extra["content_base64"] = base64.b64encode(content).decode("ascii")
            else:
                rel = f"attachments/{a['sha256'][:16]}-{_UNSAFE_NAME.sub('_', str(a['filename']))[:100]}"
                files[rel] = content
                extra["file"] = rel
        attachments.append(
            ExportAttachment(
                id=a["id"],
                filename=a["filename"],
                content_type=a["content_type"],
                size=a["size"],
                sha256=a["sha256"],
                **extra,
            )
        )
    return ExportMessage(
        id=m["id"],
        seq=m["seq"],
        direction=m["direction"],
        author_kind=m["author_kind"],
        author_id=m["author_id"],
        channel=m["channel"],
        external_id=m["external_id"],
        text=m["text"],
        subject=meta.get("subject"),
        delivery_status=m["delivery_status"],
        ai_generated=bool(meta.get("ai")),
        approved_by=meta.get("approved_by"),
        created_at=aware(m["created_at"]),
        attachments=attachments,
    )


def _classification(e: Row) -> ExportClassification:
    d = e["data"] or {}
    return ExportClassification(
        message_id=e["causation_id"],
        occurred_at=aware(e["occurred_at"]),
        intent=d.get("intent"),
        confidence=d.get("confidence"),
        language=d.get("language"),
        sentiment=d.get("sentiment"),
        out_of_scope=d.get("out_of_scope"),
        asked_for_human=d.get("asked_for_human"),
        pii_kinds=list(d.get("pii_kinds") or []),
    )


def _decision(d: Row) -> ExportDecision:
    record = d["record"] or {}
    facts = dict(record.get("facts") or {})
    draft = None
    if facts.get("draft_text") or facts.get("draft_purged") or facts.get("draft_state"):
        state = facts.get("draft_state") or ("pending" if d["outbound_message_id"] is None else "approved")
        draft = ExportDraft(
            text=facts.get("draft_text"),
            state=state,
            reviewed_by=facts.get("reviewed_by"),
            reject_reason=facts.get("reject_reason"),
            sent_message_id=d["outbound_message_id"],
        )
    approved_at = record.get("approved_at")
    return ExportDecision(
        id=d["id"],
        inbound_message_id=d["inbound_message_id"],
        route=d["route"],
        rule_id=d["rule_id"],
        policy_version=d["policy_version"],
        reason=d["reason"],
        confidence=record.get("confidence"),
        draft_mode=record.get("draft_mode"),
        model=record.get("model"),
        sources=list(record.get("sources") or []),
        lookups=list(record.get("lookups") or []),
        facts={k: v for k, v in facts.items() if k not in {"draft_text"}},
        approved_by=d["approved_by"],
        approved_at=datetime.fromisoformat(approved_at) if approved_at else None,
        created_at=aware(d["created_at"]),
        draft=draft,
    )
