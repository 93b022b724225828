"""What code a guest token was bought with: a registration code's token is no consent either.

0006 made an operator's registration code no consent to spend, but the code still logged in,
and the token that login gave was consent for 30 days (a security audit): the operator who asks
the guest for the code could spend through that token. A token now remembers the purpose of its
code; NULL (tokens made before, or by a 0006 worker during a rolling deploy) is a login code's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guest_tokens") as batch:
        batch.add_column(sa.Column("code_purpose", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("guest_tokens") as batch:
        batch.drop_column("code_purpose")
