"""SQLite: one writer at a time; reads go on, and a writer that waits too long must retry."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from bonus_service.app_db import get_db
from tests.support.databases import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock")

ORDER = {
    "channel": "pickup",
    "items": [{"sku": "P-1", "name": "Пельмени", "category": "main", "qty": 1, "price": "100.00"}],
}


@pytest.fixture
def impatient(app) -> None:
    """Writers give up after 0.2 s instead of the service's 30 s, so the test is quick."""
    engine = get_db(app).engine

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    engine.dispose()  # connections opened before the listener keep the long timeout


@pytest.fixture
def key(make_key) -> str:
    return make_key("checkout")


@pytest.fixture
def write_lock(database_url, key, impatient) -> Iterator[None]:
    """Another writer holding SQLite's one write lock (as a long migration or backup would)."""
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield
    holder.execute("ROLLBACK")
    holder.close()


def _place(client, key: str):
    return client.post(
        "/v1/orders",
        json={"id": uuid.uuid4().hex, "phone": "+79120000001", "order": ORDER},
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex},
    )


def test_quotes_are_answered_while_a_writer_holds_the_lock(client, key, write_lock):
    response = client.post(
        "/v1/quote",
        json={"phone": "+79120000001", "order": ORDER},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.get_json()


def test_a_writer_that_outwaits_the_busy_timeout_gets_503_with_retry_after(client, key, write_lock):
    """Known bug: today the lock timeout escapes as a 500 ("The service failed")."""
    response = _place(client, key)
    assert response.status_code == 503, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.headers.get("Retry-After")
