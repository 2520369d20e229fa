"""outcomes: CSAT, confirmed resolutions, handoff reasons

Revision ID: 0009_outcomes
Revises: 0008_customer
Create Date: 2026-12-02 04:30:00.000000

- ``outcomes``: one row per resolution (who, queue, channel, resolution time, whether a person
  replied), the survey sent on the customer's channel and their answer (solved, a 1-5 rating).
- ``handoffs``: why a conversation went to a person (a closed set of reasons), idempotent on ``key``.
Mirrors ``conversation/sql/schema_outcomes.py``.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_outcomes'
down_revision = '0008_customer'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'outcomes',
        sa.Column('id', sa.String(40), primary_key=True),
        sa.Column('conversation_id', sa.String(40), nullable=False),
        sa.Column('resolved_at', TS, nullable=False),
        sa.Column('resolved_by', sa.String(64), nullable=False),
        sa.Column('queue', sa.String(64), nullable=False),
        sa.Column('channel', sa.String(16), nullable=False),
        sa.Column('language', sa.String(16), nullable=True),
        sa.Column('opened_at', TS, nullable=True),
        sa.Column('resolution_s', sa.Float, nullable=True),
        sa.Column('human_replied', sa.Boolean, nullable=False),
        sa.Column('survey_state', sa.String(16), nullable=False),
        sa.Column('survey_message_id', sa.String(40), nullable=True),
        sa.Column('solved', sa.Boolean, nullable=True),
        sa.Column('solved_message_id', sa.String(40), nullable=True),
        sa.Column('rating', sa.Integer, nullable=True),
        sa.Column('rating_message_id', sa.String(40), nullable=True),
        sa.Column('answered_at', TS, nullable=True),
    )
    op.create_index('ix_outcomes_conversation_id_resolved_at', 'outcomes', ['conversation_id', 'resolved_at'])
    op.create_index('ix_outcomes_resolved_at', 'outcomes', ['resolved_at'])
    op.create_table(
        'handoffs',
        sa.Column('id', sa.String(40), primary_key=True),
        sa.Column('key', sa.String(96), nullable=False),
        sa.Column('conversation_id', sa.String(40), nullable=False),
        sa.Column('reason', sa.String(40), nullable=False),
        sa.Column('detail', sa.String(200), nullable=False),
        sa.Column('queue', sa.String(64), nullable=True),
        sa.Column('at', TS, nullable=False),
        sa.UniqueConstraint('key', name='uq_handoffs_key'),
    )
    op.create_index('ix_handoffs_conversation_id_at', 'handoffs', ['conversation_id', 'at'])
    op.create_index('ix_handoffs_at', 'handoffs', ['at'])


def downgrade() -> None:
    op.drop_index('ix_handoffs_at', 'handoffs')
    op.drop_index('ix_handoffs_conversation_id_at', 'handoffs')
    op.drop_table('handoffs')
    op.drop_index('ix_outcomes_resolved_at', 'outcomes')
    op.drop_index('ix_outcomes_conversation_id_resolved_at', 'outcomes')
    op.drop_table('outcomes')
