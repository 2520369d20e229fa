"""a customer message reopens without a wall-clock due; the SLA resumes in business time

Revision ID: 0012_reopen_business_time
Revises: 0011_assignment
Create Date: 2026-12-02 13:00:00.000000

Migration 0007's trigger ``desk_reopen_on_customer_message`` reopened a pending, resolved or snoozed
conversation and wrote ``sla_due_at = now + sla_remaining_s`` in wall-clock seconds. That ignores the
queue's calendar: a conversation with 30 business minutes left, reopened at 21:00, fell due at 21:30
instead of 09:30 next morning. SQL cannot count business hours, so the trigger no longer writes a due:
it sets the desk state (open, no snooze, ``state_changed_at``) and keeps ``sla_remaining_s`` as it is.
The due is written in business time by the SLA service on the customer's message
(``services.sla.refresh_clock``, called by the turn's first step for a conversation in a person's
hands): with a clock, from the three timers; without one, the time left in the queue's calendar.
Between the insert and that step the conversation reads as open with its time left
(``sla_remaining_s``), never with a wrong due. Downgrade restores 0007's trigger.
"""

from __future__ import annotations

from alembic import op

revision = "0012_reopen_business_time"
down_revision = "0011_assignment"
branch_labels = None
depends_on = None

_REOPENS = "('pending', 'resolved', 'snoozed')"
_WHEN = "NEW.direction = 'inbound' AND NEW.author_kind = 'customer'"


def _sqlite(*, wall_clock: bool) -> None:
    due = (
        """sla_due_at = CASE WHEN sla_remaining_s IS NULL THEN sla_due_at
                    ELSE strftime('%Y-%m-%d %H:%M:%S.000000', 'now',
                                  '+' || CAST(sla_remaining_s AS INTEGER) || ' seconds') END,
                sla_remaining_s = NULL,"""
        if wall_clock
        else ""
    )
    op.execute("DROP TRIGGER IF EXISTS desk_reopen_on_customer_message")
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); the trigger writes the same.
    op.execute(f"""
        CREATE TRIGGER desk_reopen_on_customer_message AFTER INSERT ON messages
        WHEN {_WHEN}
        BEGIN
            UPDATE conversations SET
                desk_state = 'open',
                snoozed_until = NULL,
                {due}
                state_changed_at = strftime('%Y-%m-%d %H:%M:%S.000000', 'now')
            WHERE id = NEW.conversation_id AND desk_state IN {_REOPENS};
        END""")


def _postgres(*, wall_clock: bool) -> None:
    due = (
        """sla_due_at = CASE WHEN sla_remaining_s IS NULL THEN sla_due_at
                    ELSE now() + make_interval(secs => sla_remaining_s) END,
                sla_remaining_s = NULL,"""
        if wall_clock
        else ""
    )
    # CREATE OR REPLACE keeps the trigger that calls the function (0007 created both).
    op.execute(f"""
        CREATE OR REPLACE FUNCTION desk_reopen_on_customer_message() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE conversations SET
                desk_state = 'open',
                snoozed_until = NULL,
                {due}
                state_changed_at = now()
            WHERE id = NEW.conversation_id AND desk_state IN {_REOPENS};
            RETURN NULL;
        END; $$""")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgres(wall_clock=False)
    else:
        _sqlite(wall_clock=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgres(wall_clock=True)
    else:
        _sqlite(wall_clock=True)
