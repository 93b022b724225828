"""Idempotency records are claimed in the effect's own transaction: no lease columns.

A record is now written with its effect and answer or not at all, so an unanswered record can
only be a claim left by the previous release's two-transaction scheme (a dead or running
attempt): those are dropped so their keys can run again. Stop the old workers first.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_keys WHERE status_code IS NULL")
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease")


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.add_column(sa.Column("lease", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
