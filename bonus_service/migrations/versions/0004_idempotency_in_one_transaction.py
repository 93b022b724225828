"""Idempotency records are claimed in the effect's own transaction: the lease is unused.

A record is now written with its effect and answer or not at all, so an unanswered record can
only be a claim of the previous release's two-transaction scheme (a dead or running attempt).
Those are deleted so their keys can run again: an old worker still running such a call then
fails to store its answer (its lease no longer matches), rolls its effect back and answers 409,
and the client's retry runs once. The `lease` and `lease_until` columns stay (nullable, no
longer written) while the previous release may still run: per docs/operations.md a column the
running release uses is dropped one release later.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_keys WHERE status_code IS NULL")


def downgrade() -> None:
    pass  # nothing to restore: the deleted claims were dead or would have been refused
