"""Tables of the customer panel (migration 0008_customer), on the same ``metadata`` as ``schema``.

``contact_merges`` keeps, for every merge recorded in ``identity_merges``, exactly what the merge moved
(identity ids, conversation ids, the contact fields it carried over), so a merge can be undone, and
who undid it and when. An undone merge stays here as history; its ``identity_merges`` row goes, so the
contacts may be merged again (into the same or another contact). Ids only: no addresses, no names.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, String, Table

from conversation.sql.schema import metadata

__all__ = ["contact_merges"]

TS = DateTime(timezone=True)

contact_merges = Table(
    "contact_merges",
    metadata,
    Column("merge_id", String(40), primary_key=True),  # identity_merges.id
    Column("from_contact_id", String(40), nullable=False, index=True),
    Column("into_contact_id", String(40), nullable=False, index=True),
    Column("evidence", String(255), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("identity_ids", JSON, nullable=False),  # moved from -> into
    Column("conversation_ids", JSON, nullable=False),
    Column("carried", JSON, nullable=False),  # contact fields copied onto ``into`` (names of the columns)
    Column("undone_at", TS),
    Column("undone_by", String(64)),
)
