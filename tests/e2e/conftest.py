"""The end-to-end tier: the app under a real gunicorn (4 sync workers) on the test database.

`gunicorn_url` starts `python -m gunicorn -w 4 wsgi:app` from the repository root against the
test's clean database, waits for /readyz, yields the base URL, and stops the master and every
worker (its whole process group) afterwards. The server's log is printed when the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bonus_service.clock import utcnow
from bonus_service.credentials import create_client
from bonus_service.db import Database
from tests.support.servers import Gunicorn, server_environment


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a fixture can tell whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def gunicorn_url(request, database_url, fake_twilio, tmp_path) -> Iterator[str]:
    """The base URL of a real gunicorn serving the app on this test's database."""
    server = Gunicorn(server_environment(database_url, fake_twilio), tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()
        failed = any(
            getattr(getattr(request.node, f"report_{when}", None), "failed", False)
            for when in ("setup", "call")
        )
        if failed:
            print(f"---- gunicorn log ({server.log_path}) ----\n{server.log()}")


@pytest.fixture
def db(database_url) -> Iterator[Database]:
    """The test database, for reading what the server wrote (and for setting up keys)."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def api_key(db) -> str:
    """A key holding every scope: checkout, operator, admin."""
    with db.unit_of_work() as session:
        key = create_client(session, "e2e", ["checkout", "operator", "admin"], utcnow())
        session.commit()
    return key
