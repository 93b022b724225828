"""What a login code was sent for: only a code the guest asked for is consent to spend.

An operator's registration SMS carries a login code too; it was accepted as the
`confirmation_code` that consents to spending bonuses, which the contract gives only to codes
sent by `POST /v1/auth/sms-code`. Codes stored before this revision have no purpose and are
taken as login codes (they live minutes). During a rolling deploy a 0005 worker that replaces a
registration code leaves its purpose in place: that one login code is then no consent, and the
guest asks for another.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_codes") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_codes") as batch:
        batch.drop_column("purpose")
