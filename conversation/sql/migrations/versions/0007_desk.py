"""desk: lifecycle, ticket numbers, search, canned replies

Revision ID: 0007_desk
Revises: 0006_audit_digest
Create Date: 2026-12-10 09:00:00.000000

- ``conversations.desk_state`` (open | pending | snoozed | resolved | closed), ``snoozed_until``,
  ``sla_remaining_s`` (what was left of the SLA when pending or resolved stopped its clock) and
  ``state_changed_at``. Trigger ``desk_reopen_on_customer_message``: a customer message inserted into
  ``messages`` reopens a pending, resolved or snoozed conversation and restarts its SLA clock with
  the time that was left. It runs on every ingest path (SQLite batch and single, PostgreSQL).
- ``conversations.ticket_number``: the readable number customers quote (``GD-10042``). PostgreSQL: a
  sequence default; SQLite: an AFTER INSERT trigger (one writer at a time). Existing conversations are
  numbered from 10001 in the order they were created.
- Search. SQLite: ``search_docs`` (one document per message, INTEGER PRIMARY KEY so VACUUM never
  renumbers it) kept by triggers on ``messages`` (insert, text update, delete), and ``search_fts``, an
  external-content FTS5 index over it kept by triggers on ``search_docs``. Deleting a message deletes
  its document and its index entries. When a conversation's last document goes (erasure, retention),
  the index is optimised, so no term of it stays behind in ``search_fts_data``. PostgreSQL: a GIN
  index on ``to_tsvector('simple', messages.text)``; nothing is copied.
- ``canned_replies``: title, language (de/en), text with {name}, {order_number}, {ticket}.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_desk'
down_revision = '0006_audit_digest'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_FIRST_TICKET = 10001
_REOPENS = "('pending', 'resolved', 'snoozed')"


def _sqlite_triggers() -> None:
    op.execute(f"""
        CREATE TRIGGER desk_ticket_number AFTER INSERT ON conversations
        WHEN NEW.ticket_number IS NULL
        BEGIN
            UPDATE conversations SET ticket_number =
                (SELECT COALESCE(MAX(ticket_number), {_FIRST_TICKET - 1}) + 1 FROM conversations)
            WHERE id = NEW.id;
        END""")
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); the trigger writes the same.
    op.execute(f"""
        CREATE TRIGGER desk_reopen_on_customer_message AFTER INSERT ON messages
        WHEN NEW.direction = 'inbound' AND NEW.author_kind = 'customer'
        BEGIN
            UPDATE conversations SET
                desk_state = 'open',
                snoozed_until = NULL,
                sla_due_at = CASE WHEN sla_remaining_s IS NULL THEN sla_due_at
                    ELSE strftime('%Y-%m-%d %H:%M:%S.000000', 'now',
                                  '+' || CAST(sla_remaining_s AS INTEGER) || ' seconds') END,
                sla_remaining_s = NULL,
                state_changed_at = strftime('%Y-%m-%d %H:%M:%S.000000', 'now')
            WHERE id = NEW.conversation_id AND desk_state IN {_REOPENS};
        END""")
    op.execute("""
        CREATE VIRTUAL TABLE search_fts USING fts5(
            body, content='search_docs', content_rowid='id', tokenize='unicode61 remove_diacritics 2')""")
    op.execute("""
        CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
            INSERT INTO search_fts(rowid, body) VALUES (NEW.id, NEW.body);
        END""")
    op.execute("""
        CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
            INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
        END""")
    # FTS5 (SQLite < 3.44 has no secure-delete) keeps a deleted term's bytes in its segments until they
    # are merged: optimise when the last document of a conversation goes (erasure and retention delete
    # whole conversations), so an erased customer's words leave the file too.
    op.execute("""
        CREATE TRIGGER search_docs_ad_compact AFTER DELETE ON search_docs
        WHEN NOT EXISTS (SELECT 1 FROM search_docs WHERE conversation_id = OLD.conversation_id)
        BEGIN
            INSERT INTO search_fts(search_fts) VALUES ('optimize');
        END""")
    op.execute("""
        CREATE TRIGGER search_docs_au AFTER UPDATE OF body ON search_docs BEGIN
            INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
            INSERT INTO search_fts(rowid, body) VALUES (NEW.id, NEW.body);
        END""")
    op.execute("""
        CREATE TRIGGER messages_search_ai AFTER INSERT ON messages BEGIN
            INSERT INTO search_docs(message_id, conversation_id, body)
            VALUES (NEW.id, NEW.conversation_id, NEW.text);
        END""")
    op.execute("""
        CREATE TRIGGER messages_search_au AFTER UPDATE OF text ON messages BEGIN
            UPDATE search_docs SET body = NEW.text WHERE message_id = NEW.id;
        END""")
    op.execute("""
        CREATE TRIGGER messages_search_ad AFTER DELETE ON messages BEGIN
            DELETE FROM search_docs WHERE message_id = OLD.id;
        END""")
    op.execute("""
        INSERT INTO search_docs(message_id, conversation_id, body)
        SELECT id, conversation_id, text FROM messages ORDER BY created_at, id""")


def _postgres_objects() -> None:
    op.execute(f"CREATE SEQUENCE conversations_ticket_number_seq START {_FIRST_TICKET}")
    op.execute(f"""
        WITH numbered AS (
            SELECT id, row_number() OVER (ORDER BY created_at, id) + {_FIRST_TICKET - 1} AS n FROM conversations)
        UPDATE conversations c SET ticket_number = numbered.n FROM numbered WHERE c.id = numbered.id""")
    op.execute("SELECT setval('conversations_ticket_number_seq', "
               f"GREATEST((SELECT COALESCE(MAX(ticket_number), {_FIRST_TICKET - 1}) FROM conversations) + 1, "
               f"{_FIRST_TICKET}), false)")
    op.execute("ALTER TABLE conversations ALTER COLUMN ticket_number "
               "SET DEFAULT nextval('conversations_ticket_number_seq')")
    op.execute("ALTER SEQUENCE conversations_ticket_number_seq OWNED BY conversations.ticket_number")
    op.execute(f"""
        CREATE FUNCTION desk_reopen_on_customer_message() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE conversations SET
                desk_state = 'open',
                snoozed_until = NULL,
                sla_due_at = CASE WHEN sla_remaining_s IS NULL THEN sla_due_at
                    ELSE now() + make_interval(secs => sla_remaining_s) END,
                sla_remaining_s = NULL,
                state_changed_at = now()
            WHERE id = NEW.conversation_id AND desk_state IN {_REOPENS};
            RETURN NULL;
        END; $$""")
    op.execute("CREATE TRIGGER desk_reopen_on_customer_message AFTER INSERT ON messages FOR EACH ROW "
               "WHEN (NEW.direction = 'inbound' AND NEW.author_kind = 'customer') "
               "EXECUTE FUNCTION desk_reopen_on_customer_message()")
    op.execute("CREATE INDEX ix_messages_text_fts ON messages USING gin (to_tsvector('simple', text))")


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('desk_state', sa.String(16), nullable=False, server_default='open'))
        batch.add_column(sa.Column('snoozed_until', TS, nullable=True))
        batch.add_column(sa.Column('sla_remaining_s', sa.Float, nullable=True))
        batch.add_column(sa.Column('state_changed_at', TS, nullable=True))
        batch.add_column(sa.Column('ticket_number', sa.BigInteger, nullable=True))
    op.execute("UPDATE conversations SET desk_state = 'closed' WHERE status = 'closed'")
    op.create_index('ix_conversations_desk_state', 'conversations', ['desk_state', 'updated_at'])
    op.create_index('ix_conversations_assignee', 'conversations', ['assignee'])
    op.create_table(
        'canned_replies',
        sa.Column('id', sa.String(40), primary_key=True),
        sa.Column('title', sa.String(120), nullable=False),
        sa.Column('language', sa.String(8), nullable=False),
        sa.Column('text', sa.Text, nullable=False),
        sa.Column('updated_by', sa.String(64), nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.UniqueConstraint('title', 'language', name='uq_canned_replies_title_language'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        _postgres_objects()
    else:
        op.execute(f"""
            UPDATE conversations SET ticket_number = {_FIRST_TICKET - 1} + (
                SELECT COUNT(*) FROM conversations AS c2
                WHERE c2.created_at < conversations.created_at
                   OR (c2.created_at = conversations.created_at AND c2.id <= conversations.id))""")
        op.create_table(
            'search_docs',
            sa.Column('id', sa.Integer, primary_key=True),
            sa.Column('message_id', sa.String(40), nullable=False, unique=True),
            sa.Column('conversation_id', sa.String(40), nullable=False, index=True),
            sa.Column('body', sa.Text, nullable=False),
        )
        _sqlite_triggers()
    op.create_index('uq_conversations_ticket_number', 'conversations', ['ticket_number'], unique=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_messages_text_fts")
        op.execute("DROP TRIGGER IF EXISTS desk_reopen_on_customer_message ON messages")
        op.execute("DROP FUNCTION IF EXISTS desk_reopen_on_customer_message()")
        op.execute("ALTER TABLE conversations ALTER COLUMN ticket_number DROP DEFAULT")
    else:
        for trigger in ('messages_search_ad', 'messages_search_au', 'messages_search_ai', 'search_docs_au',
                        'search_docs_ad_compact', 'search_docs_ad', 'search_docs_ai',
                        'desk_reopen_on_customer_message', 'desk_ticket_number'):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
        op.drop_table('search_docs')
    op.drop_table('canned_replies')
    op.drop_index('uq_conversations_ticket_number', 'conversations')
    op.drop_index('ix_conversations_assignee', 'conversations')
    op.drop_index('ix_conversations_desk_state', 'conversations')
    with op.batch_alter_table('conversations') as batch:
        for column in ('ticket_number', 'state_changed_at', 'sla_remaining_s', 'snoozed_until', 'desk_state'):
            batch.drop_column(column)
    if bind.dialect.name == 'postgresql':
        op.execute("DROP SEQUENCE IF EXISTS conversations_ticket_number_seq")
