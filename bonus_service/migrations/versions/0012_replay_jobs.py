"""Replay jobs: a replay of past orders under a draft runs in the background; its row holds the
progress a page shows and, once done, the result (issue 19), readable from any worker.

Revision ID: 0012_replay_jobs
Revises: 0011_sms_budget
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_replay_jobs"
down_revision = "0011_sms_budget"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replay_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("candidate_version", sa.String(length=80), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_jobs")),
    )
    op.create_index(op.f("ix_replay_jobs_started_at"), "replay_jobs", ["started_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_replay_jobs_started_at"), table_name="replay_jobs")
    op.drop_table("replay_jobs")
