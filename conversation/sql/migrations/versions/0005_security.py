"""security: four-eyes policy requests, one-time passwords, a hash-chained append-only audit log

Revision ID: 0005_security
Revises: 0004_gdpr
Create Date: 2026-12-02 09:00:00.000000

- ``policy_requests``: a publish or rollback waiting for a second admin (four-eyes publishing);
  ``policy_versions.approved_by`` names that admin on the version it became.
- ``users.must_change_password``: the account signed in with a one-time password
  (``glassdesk users create``) and must choose its own before anything else.
- ``audit_log.seq / prev_hash / hash``: every entry carries the hash of the one before it (see
  ``conversation/sql/audit.py``). Existing entries are chained here in the order they were written
  (``at``, then ``id``). Triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
  On SQLite a later batch ALTER of ``audit_log`` rebuilds the table and drops its triggers: create
  them again in that migration.
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0005_security'
down_revision = '0004_gdpr'
branch_labels = None
depends_on = None

_GENESIS = "0" * 64
_REFUSAL = "audit_log is append-only: entries are never changed or deleted"


def _entry_hash_v1(row: Any, *, seq: int, prev_hash: str) -> str:
    """Version 1 of the entry hash, frozen here as it was when this migration was written (the
    runtime copy is ``conversation.sql.audit.entry_hash``; a test checks that the two agree)."""
    at: datetime = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    document = {"v": 1, "seq": seq, "id": row.id, "actor": row.actor, "action": row.action,
                "object_id": row.object_id, "data": row.data,
                "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "prev": prev_hash}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _chain_existing_entries() -> None:
    audit = sa.table('audit_log', sa.column('id', sa.String), sa.column('actor', sa.String),
                     sa.column('action', sa.String), sa.column('object_id', sa.String), sa.column('data', sa.JSON),
                     sa.column('at', sa.DateTime(timezone=True)), sa.column('seq', sa.BigInteger),
                     sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(audit.c.id, audit.c.actor, audit.c.action, audit.c.object_id, audit.c.data,
                                  audit.c.at).order_by(audit.c.at, audit.c.id)).all()
    prev, updates = _GENESIS, []
    for seq, row in enumerate(rows, start=1):
        digest = _entry_hash_v1(row, seq=seq, prev_hash=prev)
        updates.append({"b_id": row.id, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    if updates:
        bind.execute(audit.update().where(audit.c.id == sa.bindparam('b_id'))
                     .values(seq=sa.bindparam('seq'), prev_hash=sa.bindparam('prev_hash'),
                             hash=sa.bindparam('hash')), updates)


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{_REFUSAL}'; END; $$""")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
        return
    for event in ('UPDATE', 'DELETE'):
        op.execute(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                   f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END")


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
        return
    for event in ('update', 'delete'):
        op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event}")


def upgrade() -> None:
    op.create_table('policy_requests',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('target_version', sa.Integer(), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=400), nullable=True),
    sa.Column('published_version', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_requests'))
    )
    with op.batch_alter_table('policy_requests', schema=None) as batch_op:
        batch_op.create_index('ix_policy_requests_status', ['status'], unique=False)

    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_by', sa.String(length=64), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_entries()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_seq'), ['seq'])
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_log_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.drop_column('approved_by')
    with op.batch_alter_table('policy_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_policy_requests_status')
    op.drop_table('policy_requests')
