"""gdpr: erasure receipts and legal holds

Revision ID: 0004_gdpr
Revises: 0003
Create Date: 2026-11-24 09:00:00.000000

- ``erasure_receipts``: one row per erasure request (Art. 17). While the request waits for its
  second admin, ``contact_id`` names the contact; once the erasure ran it is cleared and only the
  pseudonymous ``subject`` (HMAC of the contact id with the session secret), the per-store counts,
  the actors and the outcome remain, so the receipt holds no personal data.
- ``legal_holds``: a manual hold flag on a contact (litigation, authority request) that blocks
  erasure until it is released.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_gdpr'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erasure_receipts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_receipts'))
    )
    with op.batch_alter_table('erasure_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_receipts_subject'), ['subject'], unique=False)
        batch_op.create_index('ix_erasure_receipts_status', ['status'], unique=False)

    op.create_table('legal_holds',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('contact_id', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('placed_by', sa.String(length=64), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_by', sa.String(length=64), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_holds_contact_id'), ['contact_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_holds_contact_id'))
    op.drop_table('legal_holds')
    with op.batch_alter_table('erasure_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_erasure_receipts_status')
        batch_op.drop_index(batch_op.f('ix_erasure_receipts_subject'))
    op.drop_table('erasure_receipts')
