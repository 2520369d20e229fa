"""audit digest: the hash chain covers a digest of each entry's details, so erasure can redact them

Revision ID: 0006_audit_digest
Revises: 0005_security
Create Date: 2026-12-09 09:00:00.000000

- ``audit_log.data_digest``: sha256 of the canonical JSON of the entry's *details*, its ``actor``,
  ``object_id`` and ``data`` (see ``conversation/sql/audit.py``). The entry hash (version 2) covers
  ``seq``, ``id``, ``action``, ``at``, ``prev_hash`` and this digest instead of the details themselves.
  Erasure (Art. 17) may then replace the details of the erased contact's entries with a redaction
  marker (``data = {"redacted_by": <receipt id>}``) and a pseudonymous object, and ``audit verify``
  still passes: a redacted entry must be named, with the digest of its redacted details, by a later
  ``audit.redacted`` entry of the chain. Any other change of any column is still found.
- Existing entries get their digest and are chained again with hash version 2, in ``seq`` order. When
  there were entries, one ``audit.chain_upgraded`` entry is appended naming the version-1 head
  (``seq`` and hash), so a head noted before this migration can still be compared with it.
- Triggers: DELETE (and TRUNCATE on PostgreSQL) stay refused; UPDATE is refused unless it only
  redacts the details of an entry not yet redacted (the rest of the row unchanged) and the newest entry
  is the ``audit.redacted`` entry that names it (appended first, in the same transaction, which holds
  the append lock).
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0006_audit_digest'
down_revision = '0005_security'
branch_labels = None
depends_on = None

_GENESIS = "0" * 64
_REFUSAL = "audit_log is append-only: entries are never changed or deleted"
_MARKER = "redacted_by"  # the one key of a redacted entry's data
_REDACTED = "audit.redacted"


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _stamp(at: datetime) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# frozen copies of conversation.sql.audit.details_digest / entry_hash (version 2) as they were when this
# migration was written; tests/integration/test_audit_chain.py checks that the runtime agrees
def _details_digest(actor: str, object_id: str | None, data: Any) -> str:
    return hashlib.sha256(_canonical({"actor": actor, "object_id": object_id, "data": data})).hexdigest()


def _entry_hash_v2(*, seq: int, entry_id: str, action: str, data_digest: str, at: datetime, prev: str) -> str:
    document = {"v": 2, "seq": seq, "id": entry_id, "action": action, "data_digest": data_digest,
                "at": _stamp(at), "prev": prev}
    return hashlib.sha256(_canonical(document)).hexdigest()


def _entry_hash_v1(row: Any, *, prev: str) -> str:
    document = {"v": 1, "seq": row.seq, "id": row.id, "actor": row.actor, "action": row.action,
                "object_id": row.object_id, "data": row.data, "at": _stamp(row.at), "prev": prev}
    return hashlib.sha256(_canonical(document)).hexdigest()


def _table() -> sa.TableClause:
    return sa.table('audit_log', sa.column('id', sa.String), sa.column('seq', sa.BigInteger),
                    sa.column('actor', sa.String), sa.column('action', sa.String),
                    sa.column('object_id', sa.String), sa.column('data', sa.JSON),
                    sa.column('at', sa.DateTime(timezone=True)), sa.column('prev_hash', sa.String),
                    sa.column('hash', sa.String), sa.column('data_digest', sa.String))


def _rechain_v2() -> None:
    audit, bind = _table(), op.get_bind()
    rows = bind.execute(sa.select(audit).order_by(audit.c.seq)).all()
    prev, updates = _GENESIS, []
    for row in rows:
        digest = _details_digest(row.actor, row.object_id, row.data)
        new = _entry_hash_v2(seq=row.seq, entry_id=row.id, action=row.action, data_digest=digest, at=row.at,
                             prev=prev)
        updates.append({"b_id": row.id, "prev_hash": prev, "hash": new, "data_digest": digest})
        prev = new
    if updates:
        bind.execute(audit.update().where(audit.c.id == sa.bindparam('b_id'))
                     .values(prev_hash=sa.bindparam('prev_hash'), hash=sa.bindparam('hash'),
                             data_digest=sa.bindparam('data_digest')), updates)
    if not rows:
        return
    head = rows[-1]
    data = {"from_version": 1, "to_version": 2, "v1_head_seq": int(head.seq), "v1_head_hash": head.hash}
    entry_id = "au_" + secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")
    at, seq = datetime.now(UTC), int(head.seq) + 1
    actor, action = "system:migration", "audit.chain_upgraded"
    digest = _details_digest(actor, None, data)
    bind.execute(audit.insert().values(
        id=entry_id, seq=seq, actor=actor, action=action, object_id=None, data=data, at=at, prev_hash=prev,
        data_digest=digest,
        hash=_entry_hash_v2(seq=seq, entry_id=entry_id, action=action, data_digest=digest, at=at, prev=prev)))


def _rechain_v1() -> None:
    audit, bind = _table(), op.get_bind()
    rows = bind.execute(sa.select(audit.c.id, audit.c.seq, audit.c.actor, audit.c.action, audit.c.object_id,
                                  audit.c.data, audit.c.at).order_by(audit.c.seq)).all()
    prev, updates = _GENESIS, []
    for row in rows:
        new = _entry_hash_v1(row, prev=prev)
        updates.append({"b_id": row.id, "prev_hash": prev, "hash": new})
        prev = new
    if updates:
        bind.execute(audit.update().where(audit.c.id == sa.bindparam('b_id'))
                     .values(prev_hash=sa.bindparam('prev_hash'), hash=sa.bindparam('hash')), updates)


# -- triggers ---------------------------------------------------------------------------------------------
_FIXED = ('id', 'seq', 'action', 'at', 'prev_hash', 'hash', 'data_digest')


def _create_redactable_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _FIXED)
        op.execute(f"""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND NOT ({changed})
                   AND (NEW.data::jsonb ->> '{_MARKER}') IS NOT NULL AND (OLD.data::jsonb ->> '{_MARKER}') IS NULL
                   AND EXISTS (SELECT 1 FROM audit_log h WHERE h.seq = (SELECT max(seq) FROM audit_log)
                               AND h.action = '{_REDACTED}'
                               AND (h.data::jsonb -> 'entries' -> OLD.seq::text) IS NOT NULL)
                THEN RETURN NEW; END IF;
                RAISE EXCEPTION '{_REFUSAL}';
            END; $$""")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
        return
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FIXED)
    op.execute(f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
               f"WHEN {changed} OR json_extract(NEW.data, '$.{_MARKER}') IS NULL "
               f"OR json_extract(OLD.data, '$.{_MARKER}') IS NOT NULL "
               f"OR NOT EXISTS (SELECT 1 FROM audit_log h WHERE h.seq = (SELECT max(seq) FROM audit_log) "
               f"AND h.action = '{_REDACTED}' "
               f"AND json_extract(h.data, '$.entries.\"' || OLD.seq || '\"') IS NOT NULL) "
               f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END")
    op.execute(f"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
               f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END")


def _create_append_only_triggers_0005() -> None:
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


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
        return
    for event in ('update', 'delete'):
        op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event}")


def upgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_digest', sa.String(length=64), nullable=True))
    _rechain_v2()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('data_digest', existing_type=sa.String(length=64), nullable=False)
    _create_redactable_triggers()


def downgrade() -> None:
    """Back to hash version 1 (over the details as they are now: redacted entries stay redacted)."""
    _drop_triggers()
    _rechain_v1()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('data_digest')
    _create_append_only_triggers_0005()
