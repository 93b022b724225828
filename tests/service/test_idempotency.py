"""A retry never spends or credits twice: the first answer to a key is the only effect."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from sqlalchemy import func, select

from bonus_service.clock import utcnow
from bonus_service.db import get_db
from bonus_service.idempotency import _request_hash
from bonus_service.models import IdempotencyRecord, LedgerEntry
from tests.service.checkout_helpers import order_id, pickup
from tests.service.helpers import bearer
from tests.service.test_order_lifecycle import assert_ledger_matches_balances


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
    assert shop.me(token)["balance"] == "60.00"
    assert_ledger_matches_balances(app)


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


def _claim_by_hand(app, shop, key: str, body: dict, lease_until) -> None:
    """A first attempt that claimed the key and is (or died) still running."""
    with app.test_request_context("/v1/orders", method="POST", json=body):
        request_hash = _request_hash()
    with get_db(app).unit_of_work() as session:
        from bonus_service.models import ApiClient

        client_id = session.scalar(select(ApiClient.id).where(ApiClient.name == "site"))
        session.add(
            IdempotencyRecord(
                client_id=client_id,
                key=key,
                request_hash=request_hash,
                lease="first",
                lease_until=lease_until,
                created_at=utcnow(),
            )
        )
        session.commit()


def test_a_duplicate_while_the_first_runs_is_409_with_retry_after(app, shop):
    phone, _ = shop.guest()
    body = {"id": "RUN-1", "phone": phone, "order": pickup("100.00"), "redeem": "0"}
    _claim_by_hand(app, shop, "running", body, utcnow() + timedelta(seconds=30))
    response = shop.client.post("/v1/orders", json=body, headers=bearer(shop.checkout, "running"))
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"


def test_a_retry_after_the_first_attempt_died_takes_over(app, shop):
    phone, _ = shop.guest()
    body = {"id": "DIED-1", "phone": phone, "order": pickup("100.00"), "redeem": "0"}
    _claim_by_hand(app, shop, "died", body, utcnow() - timedelta(seconds=1))
    response = shop.client.post("/v1/orders", json=body, headers=bearer(shop.checkout, "died"))
    assert response.status_code == 201


def test_the_idempotency_key_header_is_required_on_checkout_writes(shop):
    phone, _ = shop.guest()
    assert shop.place(phone, pickup("100.00"), key=None).status_code == 400
    assert (
        shop.client.post("/v1/orders/x/complete", headers=bearer(shop.checkout, None)).status_code
        == 400
    )
