"""Four-eyes control of manual adjustments: console roles, and adjustments kept for review.

A console credit of 10,000,000 went through with nobody else looking (issue 17). Operators now
have a role (`operator`, `supervisor`, `marketing`); every existing account becomes an
`operator`, the least privilege that keeps its work going (a supervisor is made on purpose, by
`bonus create-operator NAME --role supervisor`). `adjustments` keeps every manual correction
with its person and reason: applied at once, or pending until another person approves it.

Revision ID: 0010_four_eyes
Revises: 0009_spending_codes
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_four_eyes"
down_revision = "0009_spending_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=20), nullable=False, server_default="operator")
        )
        batch.create_check_constraint(
            op.f("ck_operators_role_known"), "role IN ('operator', 'supervisor', 'marketing')"
        )
    op.create_table(
        "adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guest_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("held_because", sa.String(length=40), nullable=True),
        sa.Column("requested_by", sa.String(length=60), nullable=False),
        sa.Column("requested_via", sa.String(length=80), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lapses_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=60), nullable=True),
        sa.Column("decided_via", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column(
            "entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint(
            "status IN ('applied', 'pending', 'rejected', 'lapsed')",
            name=op.f("ck_adjustments_status_known"),
        ),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_adjustments_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["guest_id"], ["guests.id"], name=op.f("fk_adjustments_guest_id_guests")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"],
            name=op.f("fk_adjustments_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustments")),
    )
    op.create_index(op.f("ix_adjustments_guest_id"), "adjustments", ["guest_id"])
    op.create_index(
        "ix_adjustments_requested_by_requested_at", "adjustments", ["requested_by", "requested_at"]
    )
    op.create_index("ix_adjustments_status_lapses_at", "adjustments", ["status", "lapses_at"])


def downgrade() -> None:
    op.drop_table("adjustments")
    with op.batch_alter_table("operators") as batch:
        batch.drop_constraint(op.f("ck_operators_role_known"), type_="check")
        batch.drop_column("role")
