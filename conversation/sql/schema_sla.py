"""Tables of the SLA clocks (migration 0010_sla), on the shared ``metadata``.

- ``sla_clocks``: one row per conversation in a person's hands: when the handoff was, the calendar it
  works to (its name and definition as JSON, so the SQL layer can count business time on its own), the
  three targets in business seconds, and ``due_after_reply``: the earliest due that a human reply leaves
  running (a trigger on ``messages`` copies it into ``conversations.sla_due_at`` when an agent replies).
- ``desk_state_log``: every desk state change with its time (pending and resolved stop the clocks).

No personal data: ids, times, queue names and states. Both go with their conversation (ON DELETE CASCADE)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Table

from conversation.sql.schema import TS, metadata

__all__ = ["sla_clocks", "desk_state_log"]

sla_clocks = Table(
    "sla_clocks",
    metadata,
    Column("conversation_id", String(40), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("handed_off_at", TS, nullable=False),
    Column("queue", String(64), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("calendar", String(64), nullable=False),
    Column("calendar_spec", JSON, nullable=False),
    Column("first_response_s", Float, nullable=False),
    Column("next_response_s", Float, nullable=False),
    Column("resolution_s", Float, nullable=False),
    Column("due_after_reply", TS, nullable=True),
    Column("updated_at", TS, nullable=False),
)

desk_state_log = Table(
    "desk_state_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(40), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("at", TS, nullable=False),
    Index("ix_desk_state_log_conversation_at", "conversation_id", "at"),
)
