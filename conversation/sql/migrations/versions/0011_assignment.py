"""auto-assignment: queue skills, agent skills, capacity and presence, a round-robin cursor per queue

Revision ID: 0011_assignment
Revises: 0010_sla
Create Date: 2026-12-02 13:00:00.000000

Tables (conversation/sql/schema_assignment.py):
- ``desk_queues``: a queue an admin configured: ``auto_assign`` and the round-robin cursor
  ``last_assigned`` (the agent who got the queue's last conversation).
- ``queue_skills``: the skills an agent needs for the queue.
- ``agent_profiles``: an agent's capacity (NULL: the default), the presence they chose (online or away)
  and the last heartbeat of their inbox page.
- ``agent_skills``: the skills of an agent.
No customer data. Queues without a row keep the old behaviour: nothing is assigned automatically.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_assignment"
down_revision = "0010_sla"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "desk_queues",
        sa.Column("queue", sa.String(64), primary_key=True),
        sa.Column("auto_assign", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_assigned", sa.String(64), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "queue_skills",
        sa.Column("queue", sa.String(64), sa.ForeignKey("desk_queues.queue", ondelete="CASCADE"), nullable=False),
        sa.Column("skill", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("queue", "skill", name="pk_queue_skills"),
    )
    op.create_table(
        "agent_profiles",
        sa.Column("username", sa.String(64), sa.ForeignKey("users.username", ondelete="CASCADE"), primary_key=True),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("mode", sa.String(16), nullable=False, server_default="online"),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "agent_skills",
        sa.Column(
            "username", sa.String(64), sa.ForeignKey("agent_profiles.username", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("skill", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("username", "skill", name="pk_agent_skills"),
    )


def downgrade() -> None:
    op.drop_table("agent_skills")
    op.drop_table("agent_profiles")
    op.drop_table("queue_skills")
    op.drop_table("desk_queues")
