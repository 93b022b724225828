"""A retry never spends or credits twice: the first answer to a key is the only effect."""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import requests
from sqlalchemy import func, select, text

from bonus_service import ledger
from bonus_service.app_db import get_db
from bonus_service.models import Guest, IdempotencyRecord, LedgerEntry
from tests.support.http import bearer
from tests.support.ledger_checks import assert_ledger_reconciles
from tests.support.shop import order_id, pickup


def _entries(app, oid: str) -> int:
    with get_db(app).unit_of_work(write=False) as session:
        return session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.order_id == oid)
        )


def test_the_same_request_a_hundred_times_has_one_effect(app, shop):
    phone, token = shop.guest("100")
    oid = order_id()
    answers = [
        shop.place(phone, pickup("400.00"), redeem="50", token=token, key="place-1", oid=oid)
        for _ in range(100)
    ]
    assert {a.status_code for a in answers} == {201}
    assert len({a.data for a in answers}) == 1
    completes = [shop.complete(oid, key="complete-1") for _ in range(100)]
    assert {c.status_code for c in completes} == {200}
    assert len({c.data for c in completes}) == 1
    assert _entries(app, oid) == 3  # hold, spend, accrual
    assert shop.me(token)["balance"] == "62.00"
    assert_ledger_reconciles(get_db(app))


def test_fifty_at_once_over_http_have_one_effect(app, shop, live_server):
    phone, token = shop.guest("100")
    oid = order_id()
    headers = {**bearer(shop.checkout, "place-50"), "X-Guest-Token": token}
    body = {"id": oid, "phone": phone, "order": pickup("400.00"), "redeem": "50"}

    def place(_):
        return requests.post(f"{live_server}/v1/orders", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(place, range(50)))
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert all(a.headers.get("Retry-After") for a in answers if a.status_code == 409)
    created = {a.content for a in answers if a.status_code == 201}
    assert len(created) == 1
    retry = requests.post(f"{live_server}/v1/orders", json=body, headers=headers, timeout=30)
    assert retry.status_code == 201 and retry.content in created
    assert _entries(app, oid) == 1
    assert shop.me(token)["available"] == "50.00"


def test_the_same_key_with_another_body_is_422(shop):
    phone, _ = shop.guest()
    assert shop.place(phone, pickup("100.00"), key="k-1").status_code == 201
    other = shop.place(phone, pickup("200.00"), key="k-1")
    assert other.status_code == 422
    assert "Idempotency-Key" in {e["field"] for e in other.get_json()["errors"]}


def test_keys_are_scoped_to_the_api_key(shop, make_key):
    phone, _ = shop.guest()
    other_checkout = make_key("checkout", name="app")
    first = shop.place(phone, pickup("100.00"), key="shared", oid="ORD-A")
    headers = bearer(other_checkout, "shared")
    body = {"id": "ORD-B", "phone": phone, "order": pickup("100.00"), "redeem": "0"}
    second = shop.client.post("/v1/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 201


def test_a_refusal_is_replayed_too(shop):
    phone, token = shop.guest("10")
    first = shop.place(phone, pickup("400.00"), redeem="50", token=token, key="r-1", oid="R-1")
    again = shop.place(phone, pickup("400.00"), redeem="50", token=token, key="r-1", oid="R-1")
    assert first.status_code == again.status_code == 422
    assert first.data == again.data


def test_a_complete_that_overtook_its_place_is_not_refused_for_good(shop):
    """The 404 of a complete (or cancel) sent before its order existed is not the key's
    answer: the retry under the same key completes the order once it is there."""
    phone, _ = shop.guest()
    early = shop.complete("LATE-1", key="complete-late-1")
    assert early.status_code == 404
    assert shop.cancel("LATE-2", key="cancel-late-2").status_code == 404
    assert shop.place(phone, pickup("1000.00"), oid="LATE-1").status_code == 201
    assert shop.place(phone, pickup("1000.00"), oid="LATE-2").status_code == 201
    retried = shop.complete("LATE-1", key="complete-late-1")
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert retried.get_json()["accrued"] == "100.00"
    assert shop.cancel("LATE-2", key="cancel-late-2").get_json()["status"] == "cancelled"
    replay = shop.complete("LATE-1", key="complete-late-1")  # now the answer is the key's
    assert (replay.status_code, replay.data) == (200, retried.data)


@contextmanager
def _first_attempt_stuck(app, phone: str):
    """Hold what a first attempt's effect needs, so it stays running until the block ends.

    PostgreSQL: the guest's row lock (the hold's UPDATE waits on it). SQLite: the write lock.
    """
    db = get_db(app)
    if db.is_sqlite:
        connection = db.engine.raw_connection()  # autocommit: we say BEGIN ourselves
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    with db.engine.connect() as connection:
        connection.execute(
            select(Guest.id).where(Guest.phone == phone).with_for_update(key_share=True)
        )
        try:
            yield
        finally:
            connection.rollback()


def _wait_for_the_hold_to_block(app, within: float = 10) -> None:
    """PostgreSQL: until a backend waits on the guest's row lock in the ledger's UPDATE."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query ILIKE '%UPDATE guests%'"
    )
    deadline = time.monotonic() + within
    with get_db(app).engine.connect() as connection:
        while connection.execute(query).scalar() == 0:
            assert time.monotonic() < deadline, "the first attempt never reached its hold"
            time.sleep(0.02)
            connection.rollback()  # a fresh snapshot of pg_stat_activity


def _post_in_thread(app, body: dict, headers: dict):
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(lambda: app.test_client().post("/v1/orders", json=body, headers=headers))
    pool.shutdown(wait=False)
    return future


def test_a_duplicate_while_the_first_runs_is_409_with_retry_after_then_replays(app, shop):
    """PostgreSQL: the running first attempt holds the key's advisory lock. SQLite serialises
    writers, so there the duplicate waits for the first and replays its answer."""
    phone, token = shop.guest("100")
    body = {"id": order_id(), "phone": phone, "order": pickup("400.00"), "redeem": "50"}
    headers = {**bearer(shop.checkout, "running"), "X-Guest-Token": token}
    with _first_attempt_stuck(app, phone):
        first = _post_in_thread(app, body, headers)
        if get_db(app).is_sqlite:
            duplicate = _post_in_thread(app, body, headers)
            time.sleep(0.3)
            assert not first.done() and not duplicate.done()
        else:
            _wait_for_the_hold_to_block(app)  # so the first one has claimed the key
            busy = shop.client.post("/v1/orders", json=body, headers=headers)
            assert busy.status_code == 409
            assert busy.headers["Retry-After"] == "1"
            assert not first.done()
    answers = [first.result(timeout=30)]
    if get_db(app).is_sqlite:  # either may have got the write lock first
        answers.append(duplicate.result(timeout=30))
    else:
        answers.append(shop.client.post("/v1/orders", json=body, headers=headers))
    assert {(a.status_code, a.data) for a in answers} == {(201, answers[0].data)}
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert _entries(app, body["id"]) == 1


def test_a_call_that_failed_leaves_its_key_free_for_the_retry(app, shop, monkeypatch):
    """A crash inside the effect rolls back the claim with it: nothing is left to take over."""
    phone, token = shop.guest("100")
    body = {"id": order_id(), "phone": phone, "order": pickup("400.00"), "redeem": "50"}
    headers = {**bearer(shop.checkout, "failed-once"), "X-Guest-Token": token}
    real_move = ledger.move

    def crash_once(*args, **kwargs):
        monkeypatch.setattr(ledger, "move", real_move)
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(ledger, "move", crash_once)
    assert shop.client.post("/v1/orders", json=body, headers=headers).status_code == 500
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)
                              .where(IdempotencyRecord.key == "failed-once")) == 0
    assert shop.client.post("/v1/orders", json=body, headers=headers).status_code == 201
    assert _entries(app, body["id"]) == 1
    assert shop.me(token)["available"] == "50.00"


def test_the_idempotency_key_header_is_required_on_checkout_writes(shop):
    phone, _ = shop.guest()
    assert shop.place(phone, pickup("100.00"), key=None).status_code == 400
    assert (
        shop.client.post("/v1/orders/x/complete", headers=bearer(shop.checkout, None)).status_code
        == 400
    )
