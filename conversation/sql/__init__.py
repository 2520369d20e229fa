"""SQL adapters (SQLAlchemy 2, async): SQLite by default, PostgreSQL at scale."""

from conversation.sql.admin import SqlFeedback, SqlPolicyVersions, SqlUsers, StoredPolicy, UserRow
from conversation.sql.database import Database, sqlite_url
from conversation.sql.ledger import LedgerRow, SqlLedger
from conversation.sql.migrate import upgrade_database
from conversation.sql.outbox import OutboxRow, SqlOutboxStore
from conversation.sql.store import SqlMessageStore
from conversation.sql.timeline import SqlAuditLog, SqlQuarantine, SqlTimelineStore

__all__ = [
    "SqlFeedback",
    "SqlPolicyVersions",
    "SqlUsers",
    "StoredPolicy",
    "UserRow",
    "Database",
    "sqlite_url",
    "upgrade_database",
    "OutboxRow",
    "SqlOutboxStore",
    "SqlLedger",
    "LedgerRow",
    "SqlMessageStore",
    "SqlAuditLog",
    "SqlQuarantine",
    "SqlTimelineStore",
]
