"""business-hours calendars and independent SLA timers

Revision ID: 0010_sla
Revises: 0009_outcomes
Create Date: 2026-12-02 04:30:00.000000

- ``sla_clocks``: one row per conversation in a person's hands (conversation/sql/schema_sla.py): the
  handoff time, the calendar (name and definition), the first-response, next-response and resolution
  targets in business seconds, and ``due_after_reply``.
- ``desk_state_log``: every desk state change with its time (pending and resolved stop the clocks).
- Trigger ``sla_agent_reply``: an agent's reply inserted into ``messages`` stops the response timers,
  so ``conversations.sla_due_at`` becomes the clock's ``due_after_reply`` (the resolution due) on every
  write path; the application recomputes all three timers exactly on the next change.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_sla'
down_revision = '0009_outcomes'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_RUNNING = "('open', 'snoozed')"


def upgrade() -> None:
    op.create_table(
        'sla_clocks',
        sa.Column('conversation_id', sa.String(40), sa.ForeignKey('conversations.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('handed_off_at', TS, nullable=False),
        sa.Column('queue', sa.String(64), nullable=False),
        sa.Column('priority', sa.String(16), nullable=False),
        sa.Column('calendar', sa.String(64), nullable=False),
        sa.Column('calendar_spec', sa.JSON, nullable=False),
        sa.Column('first_response_s', sa.Float, nullable=False),
        sa.Column('next_response_s', sa.Float, nullable=False),
        sa.Column('resolution_s', sa.Float, nullable=False),
        sa.Column('due_after_reply', TS, nullable=True),
        sa.Column('updated_at', TS, nullable=False),
    )
    op.create_table(
        'desk_state_log',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('conversation_id', sa.String(40), sa.ForeignKey('conversations.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('at', TS, nullable=False),
    )
    op.create_index('ix_desk_state_log_conversation_at', 'desk_state_log', ['conversation_id', 'at'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION sla_agent_reply() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE conversations c SET sla_due_at = s.due_after_reply
                FROM sla_clocks s
                WHERE c.id = NEW.conversation_id AND s.conversation_id = NEW.conversation_id
                  AND s.handed_off_at <= NEW.created_at AND c.desk_state IN {_RUNNING};
                RETURN NULL;
            END; $$""")
        op.execute("CREATE TRIGGER sla_agent_reply AFTER INSERT ON messages FOR EACH ROW "
                   "WHEN (NEW.direction = 'outbound' AND NEW.author_kind = 'agent') "
                   "EXECUTE FUNCTION sla_agent_reply()")
    else:
        op.execute(f"""
            CREATE TRIGGER sla_agent_reply AFTER INSERT ON messages
            WHEN NEW.direction = 'outbound' AND NEW.author_kind = 'agent'
            BEGIN
                UPDATE conversations SET sla_due_at =
                    (SELECT due_after_reply FROM sla_clocks WHERE conversation_id = NEW.conversation_id)
                WHERE id = NEW.conversation_id AND desk_state IN {_RUNNING}
                  AND EXISTS (SELECT 1 FROM sla_clocks WHERE conversation_id = NEW.conversation_id
                              AND handed_off_at <= NEW.created_at);
            END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS sla_agent_reply ON messages")
        op.execute("DROP FUNCTION IF EXISTS sla_agent_reply()")
    else:
        op.execute("DROP TRIGGER IF EXISTS sla_agent_reply")
    op.drop_index('ix_desk_state_log_conversation_at', 'desk_state_log')
    op.drop_table('desk_state_log')
    op.drop_table('sla_clocks')
