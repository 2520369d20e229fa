"""customer panel: identities, verification codes, merges

Revision ID: 0008_customer
Revises: 0007_desk
Create Date: 2026-12-02 04:30:00.000000

- ``contact_merges``: what each contact merge moved (identity and conversation ids, carried contact
  fields), so an agent can undo it; ``undone_at``/``undone_by`` once undone. Ids only.
  Verification codes are not stored here: they live in Redis as an HMAC with a TTL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_customer"
down_revision = "0007_desk"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contact_merges",
        sa.Column("merge_id", sa.String(40), nullable=False),
        sa.Column("from_contact_id", sa.String(40), nullable=False),
        sa.Column("into_contact_id", sa.String(40), nullable=False),
        sa.Column("evidence", sa.String(255), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("identity_ids", sa.JSON(), nullable=False),
        sa.Column("conversation_ids", sa.JSON(), nullable=False),
        sa.Column("carried", sa.JSON(), nullable=False),
        sa.Column("undone_at", TS, nullable=True),
        sa.Column("undone_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("merge_id", name=op.f("pk_contact_merges")),
    )
    op.create_index(op.f("ix_contact_merges_from_contact_id"), "contact_merges", ["from_contact_id"])
    op.create_index(op.f("ix_contact_merges_into_contact_id"), "contact_merges", ["into_contact_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contact_merges_into_contact_id"), table_name="contact_merges")
    op.drop_index(op.f("ix_contact_merges_from_contact_id"), table_name="contact_merges")
    op.drop_table("contact_merges")
