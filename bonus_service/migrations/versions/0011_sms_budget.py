"""SMS sends remember the wider network they came from, and every SMS is counted.

`network` is the IPv4 /24 or IPv6 /48 of the send's address, limited per hour on its own
(BONUS_SMS_PER_NETWORK_HOUR): 25 addresses of one /48 each asked for codes under the
per-address limit. The index on `sent_at` serves the hourly budget over every SMS
(BONUS_SMS_PER_HOUR), burn warnings included. Existing rows get the network of their address;
an operator's sends ("operator") have none.

Revision ID: 0011_sms_budget
Revises: 0010_four_eyes
Create Date: 2026-12-07
"""

import ipaddress

import sqlalchemy as sa
from alembic import op

revision = "0011_sms_budget"
down_revision = "0010_four_eyes"
branch_labels = None
depends_on = None


def _network(address: str) -> str | None:
    """As services.sms_budget.network_of, frozen here: a migration never changes with the code."""
    try:
        network = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return None
    prefix = 24 if network.version == 4 else 48
    return str(network.supernet(new_prefix=prefix)) if network.prefixlen >= prefix else None


def upgrade() -> None:
    with op.batch_alter_table("sms_sends") as batch:
        batch.add_column(sa.Column("network", sa.String(length=64), nullable=True))
        batch.create_index("ix_sms_sends_network_sent_at", ["network", "sent_at"])
        batch.create_index("ix_sms_sends_sent_at", ["sent_at"])
    sends = sa.table("sms_sends", sa.column("address", sa.String), sa.column("network", sa.String))
    connection = op.get_bind()
    addresses = connection.execute(sa.select(sends.c.address).distinct()).scalars().all()
    for address in addresses:
        network = _network(address)
        if network is not None:
            connection.execute(
                sends.update().where(sends.c.address == address).values(network=network)
            )


def downgrade() -> None:
    with op.batch_alter_table("sms_sends") as batch:
        batch.drop_index("ix_sms_sends_sent_at")
        batch.drop_index("ix_sms_sends_network_sent_at")
        batch.drop_column("network")
