"""SQL adapters (SQLAlchemy 2, async): SQLite by default, PostgreSQL at scale."""

from conversation.sql.admin import SqlFeedback, SqlUsers, UserExists, UserRow
from conversation.sql.audit import AuditEntry, ChainBreak, ChainReport, SqlAuditLog
from conversation.sql.database import Database, sqlite_url
from conversation.sql.ledger import LedgerRow, SqlLedger
from conversation.sql.migrate import upgrade_database
from conversation.sql.outbox import OutboxRow, SqlOutboxStore
from conversation.sql.policy_store import (
    PolicyRequest,
    RequestDecided,
    RequestKind,
    RequestStatus,
    SqlPolicyVersions,
    StoredPolicy,
)
from conversation.sql.store import SqlMessageStore
from conversation.sql.timeline import SqlQuarantine, SqlTimelineStore

__all__ = [
    "SqlFeedback",
    "SqlPolicyVersions",
    "SqlUsers",
    "StoredPolicy",
    "UserRow",
    "UserExists",
    "PolicyRequest",
    "RequestDecided",
    "RequestKind",
    "RequestStatus",
    "Database",
    "sqlite_url",
    "upgrade_database",
    "OutboxRow",
    "SqlOutboxStore",
    "SqlLedger",
    "LedgerRow",
    "SqlMessageStore",
    "SqlAuditLog",
    "AuditEntry",
    "ChainBreak",
    "ChainReport",
    "SqlQuarantine",
    "SqlTimelineStore",
]
