"""Tables of auto-assignment (migration 0011_assignment), on the shared ``metadata``.

- ``desk_queues``: one row per queue an admin configured: whether the queue auto-assigns, and its
  round-robin cursor ``last_assigned`` (the agent the queue gave its last conversation to; the next one
  goes to the agent after them, so the rotation survives restarts and is shared by every worker).
- ``queue_skills``: the skills an agent needs for a queue (all of them).
- ``agent_profiles``: per staff account that takes conversations: its capacity (the most open
  conversations assigned at once; NULL: the default), the presence the agent chose (``online`` or
  ``away``) and the last heartbeat of their inbox page. No heartbeat for a while reads as away, then
  offline (``services.assignment``).
- ``agent_skills``: the skills of an agent.

No customer data: queue names, skill names, staff usernames, counts and times."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, PrimaryKeyConstraint, String, Table

from conversation.sql.schema import TS, metadata

__all__ = ["desk_queues", "queue_skills", "agent_profiles", "agent_skills"]

desk_queues = Table(
    "desk_queues",
    metadata,
    Column("queue", String(64), primary_key=True),
    Column("auto_assign", Boolean, nullable=False, default=False),
    Column("last_assigned", String(64), nullable=True),  # the round-robin cursor
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", TS, nullable=False),
)

queue_skills = Table(
    "queue_skills",
    metadata,
    Column("queue", String(64), ForeignKey("desk_queues.queue", ondelete="CASCADE"), nullable=False),
    Column("skill", String(64), nullable=False),
    PrimaryKeyConstraint("queue", "skill", name="pk_queue_skills"),
)

agent_profiles = Table(
    "agent_profiles",
    metadata,
    Column("username", String(64), ForeignKey("users.username", ondelete="CASCADE"), primary_key=True),
    Column("capacity", Integer, nullable=True),
    Column("mode", String(16), nullable=False, default="online"),  # online | away: what the agent chose
    Column("last_seen_at", TS, nullable=True),  # the last heartbeat of the agent's inbox page
    Column("updated_at", TS, nullable=False),
)

agent_skills = Table(
    "agent_skills",
    metadata,
    Column("username", String(64), ForeignKey("agent_profiles.username", ondelete="CASCADE"), nullable=False),
    Column("skill", String(64), nullable=False),
    PrimaryKeyConstraint("username", "skill", name="pk_agent_skills"),
)
