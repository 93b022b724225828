"""Orders and keys belong to a client: order ids unique per client, several keys per client.

Any checkout key could read, complete and cancel every other client's orders, and take the ids
another client had not used yet (a security audit, issue 17): an order now belongs to the client
that placed it, and is unique per (client, id). A client's keys move to a table of their own, so
a key can be rotated without a new client (whose orders and Idempotency-Keys the old name kept).

Existing rows: each client's key becomes its first key (revoked with the client); each order
belongs to the client named in its `placed_by` (a name no client has gets a revoked client of
its own, with no key); each ledger entry of an order points at (that client, the order id).

Not additive: the previous release cannot serve this schema (it places orders by id alone), so
its web processes stop before this migration runs (docs/operations.md). The ledger's append-only
trigger is disabled for the one UPDATE that fills the entries' new column, in this transaction.

Revision ID: 0008_order_owners
Revises: 0007
Create Date: 2026-12-07
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008_order_owners"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _keys_of_their_own()
    _clients_for_every_order(datetime.now(UTC))

    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("order_client_id", sa.Integer(), nullable=True))
    if postgresql:  # it stands on the primary key about to change (SQLite: in the copy below)
        op.drop_constraint("fk_ledger_entries_order_id_orders", "ledger_entries", "foreignkey")

    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("client_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE orders SET client_id = "
        "(SELECT api_clients.id FROM api_clients WHERE api_clients.name = orders.placed_by)"
    )
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("client_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("pk_orders", type_="primary")
        batch.create_primary_key("pk_orders", ["client_id", "id"])
        batch.create_foreign_key(
            "fk_orders_client_id_api_clients", "api_clients", ["client_id"], ["id"]
        )

    if postgresql:
        op.execute("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only")
    op.execute(
        "UPDATE ledger_entries SET order_client_id = "
        "(SELECT orders.client_id FROM orders WHERE orders.id = ledger_entries.order_id) "
        "WHERE order_id IS NOT NULL"
    )
    if postgresql:
        op.execute("ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only")
    with op.batch_alter_table("ledger_entries") as batch:
        if not postgresql:
            batch.drop_constraint("fk_ledger_entries_order_id_orders", type_="foreignkey")
        batch.drop_index("ix_ledger_entries_order_id")
        batch.create_index("ix_ledger_entries_order", ["order_client_id", "order_id"])
        batch.create_foreign_key(
            "fk_ledger_entries_order_orders",
            "orders",
            ["order_client_id", "order_id"],
            ["client_id", "id"],
        )
        batch.create_check_constraint(
            op.f("ck_ledger_entries_order_whole"), "(order_id IS NULL) = (order_client_id IS NULL)"
        )


def _keys_of_their_own() -> None:
    """api_keys, holding each client's one key so far; api_clients keeps no key."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"], name=op.f("fk_api_keys_client_id_api_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.create_index(batch.f("ix_api_keys_client_id"), ["client_id"], unique=False)
    op.execute(
        "INSERT INTO api_keys (client_id, key_hash, created_at, revoked_at) "
        "SELECT id, key_hash, created_at, revoked_at FROM api_clients ORDER BY id"
    )
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_constraint("uq_api_clients_key_hash", type_="unique")
        batch.drop_column("key_hash")


def _clients_for_every_order(now: datetime) -> None:
    """An order whose `placed_by` names no client (none is ever deleted or renamed, so only
    rows written by hand) gets a revoked client of that name, holding no key."""
    clients = sa.table(
        "api_clients",
        sa.column("name", sa.String),
        sa.column("scopes", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    orders = sa.table("orders", sa.column("placed_by", sa.String))
    names = sa.table("api_clients", sa.column("name", sa.String)).alias("known")
    orphans = op.get_bind().scalars(
        sa.select(orders.c.placed_by)
        .where(~sa.exists().where(names.c.name == orders.c.placed_by))
        .distinct()
    ).all()
    stamp = now if op.get_bind().dialect.name == "postgresql" else now.replace(tzinfo=None)
    for name in orphans:
        op.execute(
            clients.insert().values(
                name=name, scopes="checkout", created_at=stamp, revoked_at=stamp
            )
        )


def downgrade() -> None:
    raise NotImplementedError(
        "0008_order_owners is not undone: two clients may now hold the same order id, and a "
        "client several keys; restore the backup taken before the upgrade"
    )
