"""The migrations build the schema the models describe (on the database under test)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from bonus_service import create_app
from bonus_service.db import Database
from bonus_service.migrate import upgrade
from bonus_service.models import Base

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


def test_0008_gives_the_sends_already_counted_the_network_of_their_address(tmp_path):
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
