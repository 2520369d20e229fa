"""Outcome tables (migration 0009_outcomes), on the shared ``metadata`` of ``conversation.sql.schema``.

- ``outcomes``: one row per resolution of a conversation (a person pressed Resolve): who resolved it,
  its queue and channel, how long it took, whether a person replied, the survey sent and the
  customer's answer (solved yes/no, a 1-5 rating). A second answer fills the same row, never a new one.
- ``handoffs``: why a conversation went to a person, one row per handoff, the reason from the closed
  set ``conversation.handoff_reasons.HandoffReason``; ``key`` makes recording it idempotent.

Ids, usernames of staff, queue names and numbers only: no customer content. No foreign keys, so an
erasure or retention run that predates these tables is never blocked; ``delete_outcomes`` removes a
conversation's rows with it."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table

from conversation.sql.schema import TS, metadata

__all__ = ["outcomes", "handoffs"]

outcomes = Table(
    "outcomes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(40), nullable=False),
    Column("resolved_at", TS, nullable=False),
    Column("resolved_by", String(64), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("language", String(16)),
    Column("opened_at", TS),  # the first customer message since the last confirmed resolution
    Column("resolution_s", Float),
    Column("human_replied", Boolean, nullable=False),
    Column("survey_state", String(16), nullable=False),  # asked | answered | superseded | not_sent
    Column("survey_message_id", String(40)),
    Column("solved", Boolean),
    Column("solved_message_id", String(40)),
    Column("rating", Integer),
    Column("rating_message_id", String(40)),
    Column("answered_at", TS),
    Index("ix_outcomes_conversation_id_resolved_at", "conversation_id", "resolved_at"),
    Index("ix_outcomes_resolved_at", "resolved_at"),
)

handoffs = Table(
    "handoffs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key", String(96), nullable=False, unique=True),  # msg:<causing message> | evt:<event> | …
    Column("conversation_id", String(40), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("detail", String(200), nullable=False),  # the free-text reason the code wrote (system text)
    Column("queue", String(64)),
    Column("at", TS, nullable=False),
    Index("ix_handoffs_conversation_id_at", "conversation_id", "at"),
    Index("ix_handoffs_at", "at"),
)
