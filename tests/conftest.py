"""Shared fixtures: a real database (SQLite file, or PostgreSQL when asked), the app, a fake
Twilio for the real twilio client, and a real HTTP server where the point is the server.

Set BONUS_TEST_DATABASE_URL=postgresql+psycopg://... to run the same suite on PostgreSQL; it must
then be reachable (CI fails rather than skips).
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator

import pytest

from bonus_service.app import create_app
from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.credentials import create_client
from bonus_service.db import Database
from bonus_service.migrate import upgrade
from tests.support.databases import PG_URL, create_run_database, drop_run_database, wipe_postgres
from tests.support.fake_twilio import FakeTwilio
from tests.support.guests import make_guest as _make_guest
from tests.support.servers import threaded_server
from tests.support.shop import Shop


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL.rpartition('@')[2] if PG_URL else 'SQLite files'}"


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> Iterator[str]:
    """A migrated database: an SQLite file to copy per test, or a PostgreSQL database of this
    run's own (created beside BONUS_TEST_DATABASE_URL's, dropped at the end) so that two runs
    on one server never wipe each other's tables."""
    if PG_URL:
        url = create_run_database(PG_URL)
        upgrade(Database(url))
        yield url
        drop_run_database(PG_URL, url)
        return
    path = tmp_path_factory.mktemp("template") / "bonus.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    yield str(path)


@pytest.fixture
def database_url(database_template, tmp_path) -> str:
    """A clean, migrated database for one test."""
    if PG_URL:
        wipe_postgres(database_template)
        return database_template
    path = tmp_path / "bonus.db"
    shutil.copy(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(hang_seconds=10) as fake:
        yield fake


@pytest.fixture
def settings_overrides() -> dict:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def app(database_url, fake_twilio, tmp_path, settings_overrides):
    app = create_app(
        {
            "database_url": database_url,
            "sms_backend": "twilio",
            "twilio_account_sid": fake_twilio.account_sid,
            "twilio_auth_token": fake_twilio.auth_token,
            "twilio_from_number": fake_twilio.from_number,
            "twilio_api_base": fake_twilio.base_url,
            "twilio_timeout": 2,
            "secret_key": "test-secret-of-16+chars",
            "scheduler_enabled": False,
            **settings_overrides,
        }
    )
    app.config["TESTING"] = True
    yield app
    get_db(app).dispose()


@pytest.fixture
def db(app) -> Database:
    """The app's database, for tests that call services and jobs directly."""
    return get_db(app)


@pytest.fixture
def make_guest(db):
    """make_guest(registered_at, balance=kopecks, held=kopecks, last_order_at=None, phone=None)
    → the stored guest, made through the service layer (tests.support.guests)."""
    return functools.partial(_make_guest, db)


@pytest.fixture
def book(app):
    """The app's program book (rules/programs, or BONUS_RULES_DIR)."""
    return app.extensions["bonus_rules"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_key(app):
    """make_key("checkout", "operator", name=...) → a bearer API key."""
    counter = iter(range(1, 10_000))

    def make(*scopes: str, name: str | None = None) -> str:
        with get_db(app).unit_of_work() as session:
            key = create_client(session, name or f"client-{next(counter)}", list(scopes), utcnow())
            session.commit()
        return key

    return make


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app behind a real threaded HTTP server on 127.0.0.1; yields its base URL."""
    with threaded_server(app) as url:
        yield url


@pytest.fixture
def shop(client, fake_twilio, make_key):
    """A checkout, an operator and an admin key, and zones north (min 500) and south (min 0)."""
    shop = Shop(
        client,
        fake_twilio,
        make_key("checkout", name="site"),
        make_key("operator", name="call-center"),
        make_key("admin", name="admin"),
    )
    shop.zone("north", "500.00", "Север")
    shop.zone("south", "0", "Юг")
    return shop
