"""turn lookup indexes: messages.causation_id, events by causation, inbound by age

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:45:00.000000

- ``messages.causation_id`` (mirrors ``meta["causation_id"]``, backfilled here) + index: the
  deliverer finds the reply a turn already wrote without scanning the conversation.
- ``events (causation_id, type)``: "did this turn finish?" is one indexed lookup.
- ``messages (direction, created_at)``: the reconciler finds old unanswered inbound messages.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('causation_id', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_messages_causation_id', ['causation_id'], unique=False)
        batch_op.create_index('ix_messages_direction_created_at', ['direction', 'created_at'], unique=False)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_causation_id_type', ['causation_id', 'type'], unique=False)

    extract = "meta->>'causation_id'" if op.get_bind().dialect.name == 'postgresql' \
        else "json_extract(meta, '$.causation_id')"
    op.execute(f"UPDATE messages SET causation_id = {extract} WHERE direction = 'outbound'")


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_causation_id_type')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_direction_created_at')
        batch_op.drop_index('ix_messages_causation_id')
        batch_op.drop_column('causation_id')
