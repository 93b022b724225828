"""Spending codes: the code a guest reads out at a till is no longer a login code.

One code was both the login and the consent to spend, so a code read out at a till or to the
call center could be exchanged for a 30-day guest token (issue 17). A spending code is asked
for by the checkout client (`POST /v1/orders/confirmation-code`), is bound to the phone, that
client and an amount, confirms one order, and lives in a table of its own that login never
reads. Login codes in flight when this revision lands stop being consent: they live minutes,
and the till asks for a spending code instead. Nothing existing is rewritten.

Revision ID: 0009_spending_codes
Revises: 0008_order_owners
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_spending_codes"
down_revision = "0008_order_owners"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spending_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("max_amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts_left", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"],
            name=op.f("fk_spending_codes_client_id_api_clients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spending_codes")),
        sa.UniqueConstraint("phone", "client_id", name=op.f("uq_spending_codes_phone")),
    )


def downgrade() -> None:
    op.drop_table("spending_codes")
