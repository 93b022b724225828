"""Program versions as data: drafts a marketing person changes, versions published to take
effect later, read by every instance of the service without a restart (issue 19).

Revision ID: 0013_program_versions
Revises: 0012_replay_jobs
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_program_versions"
down_revision = "0012_replay_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program_versions",
        sa.Column("version", sa.String(length=80), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=80), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'published')", name=op.f("ck_program_versions_status")
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_program_versions")),
    )
    op.create_index(
        "ix_program_versions_status_effective_from",
        "program_versions",
        ["status", "effective_from"],
    )
    op.create_index(
        "uq_program_versions_published_start",
        "program_versions",
        ["effective_from"],
        unique=True,
        sqlite_where=sa.text("status = 'published'"),
        postgresql_where=sa.text("status = 'published'"),
    )


def downgrade() -> None:
    op.drop_index("uq_program_versions_published_start", table_name="program_versions")
    op.drop_index("ix_program_versions_status_effective_from", table_name="program_versions")
    op.drop_table("program_versions")
