"""Tables of the system of record (SQLAlchemy Core). Migrations in ``migrations/`` mirror this."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "policy_versions",
    "feedback",
    "users",
    "metadata",
    "contacts",
    "channel_identities",
    "conversations",
    "messages",
    "events",
    "decisions",
    "outbox",
    "quarantine",
    "identity_merges",
    "audit_log",
    "policy_requests",
    "erasure_receipts",
    "legal_holds",
    "canned_replies",
    "search_docs",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = DateTime(timezone=True)


class _InsertContext(Protocol):
    """What a column default reads of SQLAlchemy's execution context (its own method is unannotated)."""

    def get_current_parameters(self) -> Mapping[str, object]: ...


def _causation_of(context: _InsertContext) -> str | None:
    """``messages.causation_id`` mirrors ``meta["causation_id"]`` (the inbound message an outbound
    reply answers), filled on insert so the "did this turn already write its reply?" lookup is one
    indexed query instead of a scan of the conversation."""
    meta = context.get_current_parameters().get("meta")
    value = meta.get("causation_id") if isinstance(meta, dict) else None
    return str(value) if value else None


contacts = Table(
    "contacts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("display_name", String(200)),
    Column("backoffice_customer_id", String(64), index=True),
    Column("created_at", TS, nullable=False),
)

channel_identities = Table(
    "channel_identities",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contact_id", String(40), ForeignKey("contacts.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("address", String(320), nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("kind", "address", name="uq_identity_kind_address"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contact_id", String(40), ForeignKey("contacts.id"), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("language", String(16)),
    Column("queue", String(64)),
    Column("priority", String(16), nullable=False),
    Column("assignee", String(64)),
    Column("sla_due_at", TS),
    Column("status_token", String(64), nullable=False, unique=True),
    Column("reply_token", String(64), nullable=False, unique=True),
    Column("last_seq", Integer, nullable=False, default=0),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    # The agent desk's lifecycle (migration 0007_desk): open | pending | snoozed | resolved | closed.
    # A customer message reopens pending/resolved/snoozed (a database trigger, on every ingest path);
    # a snooze also ends when ``snoozed_until`` passes. Pending and resolved stop the SLA clock: what
    # was left of it waits in ``sla_remaining_s`` and comes back on reopen.
    Column("desk_state", String(16), nullable=False, server_default="open"),
    Column("snoozed_until", TS),
    Column("sla_remaining_s", Float),
    Column("state_changed_at", TS),
    Column("ticket_number", BigInteger, unique=True),  # GD-10042: set by the database on insert
    Index("ix_conversations_status_queue", "status", "queue"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(40), ForeignKey("conversations.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("direction", String(16), nullable=False),
    Column("author_kind", String(16), nullable=False),
    Column("author_id", String(64)),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(998)),
    Column("text", Text, nullable=False),
    Column("attachments", JSON, nullable=False),
    Column("delivery_status", String(32)),
    Column("meta", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("causation_id", String(40), default=_causation_of),
    UniqueConstraint("channel", "external_id", name="uq_messages_channel_external_id"),
    UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
    Index("ix_messages_causation_id", "causation_id"),
    Index("ix_messages_direction_created_at", "direction", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(40), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("actor", String(16), nullable=False),
    Column("causation_id", String(40)),
    Column("data", JSON, nullable=False),
    Column("occurred_at", TS, nullable=False),
    Index("ix_events_causation_id_type", "causation_id", "type"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(40), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("inbound_message_id", String(40), nullable=False, unique=True),
    Column("outbound_message_id", String(40)),
    Column("route", String(32), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("record", JSON, nullable=False),
    Column("approved_by", String(64)),
    Column("created_at", TS, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("message_id", String(40), ForeignKey("messages.id"), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("provider_id", String(255)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_outbox_state", "state"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("reason", String(255), nullable=False),
    Column("detail", Text, nullable=False),
    Column("blob_key", String(128), nullable=False),
    Column("resolved", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),
)

identity_merges = Table(
    "identity_merges",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("from_contact_id", String(40), nullable=False),
    Column("into_contact_id", String(40), nullable=False),
    Column("evidence", String(255), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
)

# Append-only and hash-chained (migration 0005_security): entry ``seq`` carries the sha256 of its
# canonical JSON and of entry ``seq - 1``'s hash (``conversation.sql.audit``); database triggers
# refuse UPDATE and DELETE.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_id", String(64)),
    Column("data", JSON, nullable=False),
    Column("at", TS, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("data_digest", String(64), nullable=False),  # sha256 of actor, object_id, data (0006_audit_digest)
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("version", Integer, nullable=False, unique=True),
    Column("author", String(64), nullable=False),
    Column("message", String(500), nullable=False),
    Column("text", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rolled_back_from", Integer),
    Column("created_at", TS, nullable=False),
    Column("approved_by", String(64)),  # the second admin, when four-eyes publishing was on
)

# A publish or rollback waiting for a second admin (four-eyes publishing, migration 0005_security).
policy_requests = Table(
    "policy_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),  # publish | rollback
    Column("status", String(16), nullable=False),  # pending | approved | rejected | withdrawn | superseded
    Column("text", Text, nullable=False),  # the text that goes live on approval
    Column("sha256", String(64), nullable=False),
    Column("message", String(500), nullable=False),
    Column("target_version", Integer),  # rollback: the version that goes live again
    Column("base_version", Integer),  # the live version when requested; approval needs it still live
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", TS, nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", TS),
    Column("decision_note", String(400)),
    Column("published_version", Integer),
    Index("ix_policy_requests_status", "status"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(32), nullable=False),  # intent_correction | draft_edit | draft_rejected | knowledge_gap
    Column("conversation_id", String(40), index=True),
    Column("message_id", String(40)),
    Column("label", String(128)),
    Column("text", Text),  # the corrected example, redacted
    Column("reason", String(255)),
    Column("actor", String(64), nullable=False),
    Column("used_in_model", String(64)),
    Column("created_at", TS, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("must_change_password", Boolean, nullable=False, default=False),  # a one-time password
)

# GDPR (migration 0004_gdpr). ``erasure_receipts.contact_id`` is set only while a request waits for
# its approval; a completed receipt keeps the pseudonymous ``subject`` (HMAC) and counts, no personal data.
erasure_receipts = Table(
    "erasure_receipts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("contact_id", String(40)),
    Column("status", String(16), nullable=False),  # requested | blocked | completed | failed | rejected
    Column("requested_by", String(64), nullable=False),
    Column("approved_by", String(64)),
    Column("counts", JSON, nullable=False),
    Column("detail", Text, nullable=False),
    Column("requested_at", TS, nullable=False),
    Column("completed_at", TS),
    Index("ix_erasure_receipts_status", "status"),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contact_id", String(40), nullable=False, index=True),
    Column("reason", String(255), nullable=False),
    Column("placed_by", String(64), nullable=False),
    Column("placed_at", TS, nullable=False),
    Column("released_by", String(64)),
    Column("released_at", TS),
)

# Canned replies (migration 0007_desk): admins manage them, agents insert them with {name},
# {order_number} and {ticket} filled in.
canned_replies = Table(
    "canned_replies",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("title", String(120), nullable=False),
    Column("language", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("title", "language", name="uq_canned_replies_title_language"),
)

# SQLite only (migration 0007_desk): the desk's search documents, one per message, kept by triggers on
# ``messages`` (a deleted message deletes its document), indexed by the external-content FTS5 table
# ``search_fts``. PostgreSQL searches ``messages.text`` through a tsvector expression index instead.
search_docs = Table(
    "search_docs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String(40), nullable=False, unique=True),
    Column("conversation_id", String(40), nullable=False, index=True),
    Column("body", Text, nullable=False),
)
