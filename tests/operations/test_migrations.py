"""The migrations build the schema the models describe (on the database under test)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, select, text

from bonus_service.app import create_app
from bonus_service.app_db import get_db
from bonus_service.credentials import digest
from bonus_service.db import Database
from bonus_service.migrate import alembic_config, upgrade
from bonus_service.models import Base
from tests.support.databases import PG_URL, create_run_database, drop_run_database

# Kept in the database while the previous release may still run (docs/operations.md: a column a
# running release uses is dropped one release later); the models no longer have them.
KEPT_FOR_THE_PREVIOUS_RELEASE = {("idempotency_keys", "lease"), ("idempotency_keys", "lease_until")}


def test_the_migrated_schema_is_the_models_schema(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    kept = {
        (d[2], d[3].name) for d in differences if d[0] == "remove_column"
    } & KEPT_FOR_THE_PREVIOUS_RELEASE
    unexpected = [
        d for d in differences if not (d[0] == "remove_column" and (d[2], d[3].name) in kept)
    ]
    assert unexpected == []


def _app_on(url: str):
    return create_app({"database_url": url, "secret_key": "s" * 16, "scheduler_enabled": False})


def _stamp(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


def test_a_schema_a_later_release_migrated_is_ready_and_left_alone(tmp_path):
    """A rolling deploy runs the next release's init-db while this release still serves: its
    additive schema must not take every old worker out of the balancer, and this release's
    init-db (a rollback) must not crash on the revision it does not know."""
    url = f"sqlite:///{tmp_path}/bonus.db"
    app = _app_on(url)
    assert app.test_cli_runner().invoke(args=["bonus", "init-db"]).exit_code == 0
    head = upgrade(Database(url)).head
    _stamp(url, "0099_a_later_release")
    assert app.test_client().get("/readyz").status_code == 200
    done = app.test_cli_runner().invoke(args=["bonus", "init-db"])
    assert done.exit_code == 0, done.output
    assert f"0099_a_later_release, newer than this release's {head}" in done.output
    _stamp(url, "0005")  # behind: this release's migrations are still to run
    behind = app.test_client().get("/readyz")
    assert behind.status_code == 503
    assert f"at 0005, behind this release's {head}" in behind.get_json()["detail"]


@pytest.fixture
def blank_url(tmp_path) -> Iterator[str]:
    """An empty database on the back-end under test (PostgreSQL: one of this test's own)."""
    if PG_URL:
        url = create_run_database(PG_URL)
        yield url
        drop_run_database(PG_URL, url)
        return
    yield f"sqlite:///{tmp_path}/blank.db"


def _at_revision(db: Database, revision: str) -> None:
    config = alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_0008_gives_existing_orders_entries_and_keys_to_their_clients(blank_url):
    """Issue 17: orders and Idempotency-Keys belong to a client, keys to a table of their own.
    Rows written by the previous release keep working: each order is its placer's, each entry
    still points at its order, each client's key still opens the door, and the books agree."""
    site_key, till_key = "bk_site-key-of-the-previous-release", "bk_till-key-of-the-previous"
    db = Database(blank_url)
    _at_revision(db, "0007")
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with db.engine.begin() as connection:
        tables = MetaData()
        tables.reflect(connection)
        t = tables.tables
        connection.execute(t["api_clients"].insert(), [
            {"name": "site", "key_hash": digest(site_key), "scopes": "checkout",
             "created_at": at, "revoked_at": None},
            {"name": "cafe-pos-12", "key_hash": digest(till_key), "scopes": "checkout",
             "created_at": at, "revoked_at": at},
        ])  # fmt: skip
        ids = dict(connection.execute(select(t["api_clients"].c.name, t["api_clients"].c.id)).all())
        guest = connection.execute(t["guests"].insert().returning(t["guests"].c.id), [
            {"phone": "+79120000001", "registered_at": at, "balance": 3_000, "held": 0},
        ]).scalar_one()  # fmt: skip
        order = {"guest_id": guest, "phone": "+79120000001", "channel": "pickup", "payload": {},
                 "total": 100_000, "redeemed": 0, "accrual": 3_000, "rules_version": "v",
                 "explanation": [], "placed_at": at, "completed_at": None}  # fmt: skip
        connection.execute(t["orders"].insert(), [
            {**order, "id": "WEB-1", "status": "completed", "placed_by": "site",
             "completed_at": at},
            {**order, "id": "T-1", "status": "placed", "placed_by": "cafe-pos-12"},
            {**order, "id": "OLD-1", "status": "placed", "placed_by": "a-till-long-gone"},
        ])  # fmt: skip
        connection.execute(t["ledger_entries"].insert(), [
            {"guest_id": guest, "kind": "accrual", "amount": 3_000, "held_delta": 0,
             "balance_after": 3_000, "order_id": "WEB-1", "rules_version": "v",
             "actor": "site", "reason": "начисление", "created_at": at},
        ])  # fmt: skip
        connection.execute(t["idempotency_keys"].insert(), [
            {"client_id": ids["site"], "key": "retry-1", "request_hash": "h", "status_code": 201,
             "content_type": "application/json", "body": b"{}", "created_at": at},
        ])  # fmt: skip

    upgraded = upgrade(db)
    assert upgraded.revision == upgraded.head

    with db.engine.connect() as connection:
        owners = dict(connection.execute(text(
            "SELECT orders.id, api_clients.name FROM orders "
            "JOIN api_clients ON api_clients.id = orders.client_id"
        )).all())  # fmt: skip
        entry = connection.execute(
            text("SELECT order_client_id, order_id FROM ledger_entries")
        ).one()
        orphan = connection.execute(text(
            "SELECT revoked_at IS NOT NULL, (SELECT count(*) FROM api_keys k "
            "WHERE k.client_id = c.id) FROM api_clients c WHERE name = 'a-till-long-gone'"
        )).one()  # fmt: skip
        keys = connection.execute(
            text("SELECT client_id, key_hash, revoked_at IS NOT NULL FROM api_keys ORDER BY id")
        ).all()
        claim = connection.execute(text("SELECT client_id, key FROM idempotency_keys")).one()
    db.dispose()
    assert owners == {"WEB-1": "site", "T-1": "cafe-pos-12", "OLD-1": "a-till-long-gone"}
    assert tuple(entry) == (ids["site"], "WEB-1")
    assert tuple(orphan) == (True, 0)
    assert [tuple(k) for k in keys] == [
        (ids["site"], digest(site_key), False), (ids["cafe-pos-12"], digest(till_key), True)]
    assert tuple(claim) == (ids["site"], "retry-1")

    app = _app_on(blank_url)
    http = app.test_client()
    read = http.get("/v1/orders/WEB-1", headers={"Authorization": f"Bearer {site_key}"})
    assert read.status_code == 200, read.get_json()
    assert read.get_json()["client"] == "site"
    assert [m["kind"] for m in read.get_json()["movements"]] == ["accrual"]
    revoked = http.get("/v1/orders/T-1", headers={"Authorization": f"Bearer {till_key}"})
    assert revoked.status_code == 401
    assert app.test_cli_runner().invoke(args=["bonus", "reconcile"]).exit_code == 0
    get_db(app).dispose()


def test_operators_made_before_roles_become_plain_operators(tmp_path):
    """The roles migration makes every existing console account the least privileged: operator."""
    from alembic import command

    from bonus_service.migrate import alembic_config

    url = f"sqlite:///{tmp_path}/bonus.db"
    db = Database(url)
    config = alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        connection.execute(text(
            "INSERT INTO operators (name, password_hash, created_at, failed_logins) "
            "VALUES ('anna', 'x', '2026-01-01 00:00:00', 0)"))  # fmt: skip
    upgrade(db)
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT name, role FROM operators")).all() == [
            ("anna", "operator")]  # fmt: skip
    db.dispose()


def test_the_sms_budget_migration_gives_counted_sends_the_network_of_their_address(tmp_path):
    """The per-network limit counts the last hour's sends from the moment it is deployed."""
    from alembic import command

    from bonus_service.migrate import alembic_config

    url = f"sqlite:///{tmp_path}/bonus.db"
    db = Database(url)
    config = alembic_config(db)
    command.upgrade(config, "0007")
    rows = [("198.51.100.7", "198.51.100.0/24"), ("2001:db8:7:2::/64", "2001:db8:7::/48"),
            ("operator", None)]  # fmt: skip
    with db.engine.begin() as connection:
        for n, (address, _) in enumerate(rows):
            connection.execute(
                text("INSERT INTO sms_sends (phone, address, purpose, sent_at) "
                     "VALUES (:phone, :address, 'login', '2026-12-01 10:00:00')"),
                {"phone": f"+7912000000{n}", "address": address},
            )  # fmt: skip
    command.upgrade(config, "head")
    with db.engine.connect() as connection:
        found = dict(connection.execute(text("SELECT address, network FROM sms_sends")).all())
    db.dispose()
    assert found == dict(rows)
