"""A gunicorn worker is SIGKILLed in the middle of placing an order; the client retries with the
same Idempotency-Key and gets exactly one effect.

On PostgreSQL the test holds the guest's row lock (SELECT … FOR NO KEY UPDATE): the worker stops
deterministically inside its effect transaction, at the ledger's UPDATE, after its claim on the
key was inserted in that same transaction. The dead worker's backend keeps the key's advisory
lock until it notices its client is gone (after the row lock is let go), so a retry meanwhile gets
409 with Retry-After; then the claim rolls back with the effect and the retry runs once. On SQLite
a held write lock stops the worker before its transaction begins (SQLite has no row locks); what
is proved there is that the dead attempt left nothing behind and the retry runs once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from contextlib import contextmanager

import psutil
import pytest
import requests
from sqlalchemy import func, make_url, select, text

from bonus_service.db import Database
from bonus_service.models import IdempotencyRecord, LedgerEntry, Order
from bonus_service.problems import PROBLEM_JSON
from tests.support.databases import PG_URL, waiting_on_guests
from tests.support.guests import seed
from tests.support.ledger_checks import assert_ledger_invariants
from tests.support.servers import wait_until

ORDER_ID = "K-000001"


def place_request(seeded) -> tuple[dict, dict]:
    phone = seeded.phones[0]
    order = {"channel": "pickup", "items": [{"sku": "K", "qty": 1, "price": "900.00"}]}
    body = {"id": ORDER_ID, "phone": phone, "redeem": "50.00", "order": order}
    headers = {
        "Authorization": f"Bearer {seeded.key}",
        "Idempotency-Key": "kill-me-once",
        "X-Guest-Token": seeded.tokens[phone],
    }
    return body, headers


@contextmanager
def guest_row_locked(db: Database, phone: str):
    """PostgreSQL: hold the guest's row lock in an open transaction until the block ends.

    NO KEY: the order's foreign key check may pass (it only shares the key), so the worker gets
    as far as the ledger's UPDATE of the guest, the last statement before its commit."""
    with db.engine.connect() as connection:
        connection.execute(
            text("SELECT id FROM guests WHERE phone = :phone FOR NO KEY UPDATE"), {"phone": phone}
        )
        yield
        connection.rollback()


@contextmanager
def database_write_locked(db: Database, phone: str):
    """SQLite: hold the database's write lock until the block ends."""
    connection = sqlite3.connect(make_url(db.url).database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    yield
    connection.execute("ROLLBACK")
    connection.close()


def the_only_worker(master_pid: int) -> psutil.Process:
    workers = psutil.Process(master_pid).children()
    assert len(workers) == 1, workers
    return workers[0]


def retry_until_answered(url: str, body: dict, headers: dict) -> list[requests.Response]:
    """The client's retries with the same key: through 409s and a reviving worker, ≤ 30 s."""
    answers, deadline = [], time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            answer = requests.post(url, json=body, headers=headers, timeout=15)
        except requests.ConnectionError:  # the master is still starting a new worker
            time.sleep(0.2)
            continue
        answers.append(answer)
        if answer.status_code != 409:
            return answers
        time.sleep(float(answer.headers["Retry-After"]))
    pytest.fail(f"no answer but 409 within 30 s: {[a.status_code for a in answers]}")


def claim_left(db: Database) -> int:
    """Records (committed claims) of the test's Idempotency-Key."""
    query = select(func.count()).where(IdempotencyRecord.key == "kill-me-once")
    with db.unit_of_work(write=False) as session:
        return session.scalar(query)


def assert_placed_once(db: Database) -> None:
    db.dispose()
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).where(Order.id == ORDER_ID)) == 1
        kinds = session.scalars(select(LedgerEntry.kind).where(LedgerEntry.order_id == ORDER_ID))
        assert list(kinds) == ["hold"]
    assert_ledger_invariants(db)


@pytest.mark.slow
def test_a_worker_killed_mid_order_leaves_one_effect_after_retries(database_url, serve):
    db = Database(database_url)
    seeded = seed(db, guest_count=1)
    server = serve(database_url, workers=1)
    url, (body, headers) = f"{server.url}/v1/orders", place_request(seeded)
    lock = guest_row_locked if PG_URL else database_write_locked
    with lock(db, seeded.phones[0]):
        first_attempt: list[BaseException | requests.Response] = []
        client = threading.Thread(target=_post, args=(url, body, headers, first_attempt))
        client.start()
        if PG_URL:
            assert wait_until(lambda: waiting_on_guests(db) > 0, 10), "never reached the UPDATE"
        else:
            time.sleep(1)  # the worker waits on the write lock (busy_timeout is 10 s)
            assert client.is_alive()
        os.kill(the_only_worker(server.process.pid).pid, signal.SIGKILL)
        client.join(10)
    assert isinstance(first_attempt[0], requests.ConnectionError), first_attempt  # no answer
    # the dead attempt's claim was never committed: it goes with its effect
    assert claim_left(db) == 0
    answers = retry_until_answered(url, body, headers)
    for refused in answers[:-1]:
        assert refused.headers["Content-Type"] == PROBLEM_JSON and refused.headers["Retry-After"]
    assert answers[-1].status_code == 201, answers[-1].text
    replays = [requests.post(url, json=body, headers=headers, timeout=15) for _ in range(2)]
    assert {(r.status_code, r.content) for r in replays} == {(201, answers[-1].content)}
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in replays)
    assert_placed_once(db)
    db.dispose()


def _post(url: str, body: dict, headers: dict, outcome: list) -> None:
    """The first attempt, in its own thread: its answer, or what it raised."""
    try:
        outcome.append(requests.post(url, json=body, headers=headers, timeout=30))
    except requests.RequestException as error:
        outcome.append(error)
