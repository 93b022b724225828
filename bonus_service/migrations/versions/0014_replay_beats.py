"""A replay's last sign of life: the thread running it writes `beat_at` every few seconds, so a
replay whose process died (a worker restarted, a deploy) reads as failed instead of running for
good.

Revision ID: 0014_replay_beats
Revises: 0013_program_versions
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_replay_beats"
down_revision = "0013_program_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default: rows written before it read their start as their last beat.
    with op.batch_alter_table("replay_jobs") as batch:
        batch.add_column(sa.Column("beat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replay_jobs") as batch:
        batch.drop_column("beat_at")
