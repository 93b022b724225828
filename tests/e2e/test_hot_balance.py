"""One guest's balance under a storm of concurrent redemptions through a real gunicorn."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from sqlalchemy import select

from bonus_service.clock import utcnow
from bonus_service.models import Guest, Order
from bonus_service.services import operators
from tests.support.ledger_checks import assert_ledger_reconciles
from tests.support.phones import new_phone

ORDERS = 200
THREADS = 40
BALANCE = Decimal("1000.00")
REDEEMS = (Decimal("7.00"), Decimal("10.00"))  # alternating: 1,700 asked of 1,000
# A pickup order of 100.00 may spend up to 20% = 20.00, so only the balance limits a spend.
ORDER = {
    "channel": "pickup",
    "source": "website",
    "items": [{"sku": "P-1", "name": "Пельмени", "category": "main", "qty": 1, "price": "100.00"}],
}
TIMEOUT = 30

pytestmark = pytest.mark.slow


def _headers(key: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex, **more}


def _guest_with_balance(url: str, key: str, fake_twilio, db) -> tuple[str, str]:
    """A guest who logged in by SMS and got 1,000 bonuses from an operator: (phone, token)."""
    with db.unit_of_work() as session:  # the person who signs the credit
        operators.create(session, "e2e-clerk", "e2e password", utcnow())
        session.commit()
    phone = new_phone()
    sent = requests.post(f"{url}/v1/auth/sms-code", json={"phone": phone}, timeout=TIMEOUT)
    assert sent.status_code == 202, sent.text
    code = fake_twilio.last_code(phone)
    verified = requests.post(
        f"{url}/v1/auth/verify", json={"phone": phone, "code": code}, timeout=TIMEOUT
    )
    assert verified.status_code == 200, verified.text
    adjusted = requests.post(
        f"{url}/v1/guests/{phone}/adjustments",
        json={"amount": f"{BALANCE}", "reason": "e2e: a balance to spend",
              "operator": "e2e-clerk"},
        headers=_headers(key),
        timeout=TIMEOUT,
    )
    assert adjusted.status_code == 201, adjusted.text
    return phone, verified.json()["token"]


def _in_parallel(call, arguments) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(call, arguments))


def _place_all(url: str, key: str, phone: str, token: str) -> dict[str, requests.Response]:
    """Place ORDERS orders at once, each spending 7 or 10; → {order id: response}."""

    def place(n: int) -> requests.Response:
        return requests.post(
            f"{url}/v1/orders",
            json={"id": f"e2e-{n}", "phone": phone, "order": ORDER, "redeem": f"{_redeem(n)}"},
            headers=_headers(key, **{"X-Guest-Token": token}),
            timeout=TIMEOUT,
        )

    return {f"e2e-{n}": r for n, r in enumerate(_in_parallel(place, range(ORDERS)))}


def _redeem(n: int) -> Decimal:
    return REDEEMS[n % 2]


def _complete_all(url: str, key: str, ids: list[str]) -> list[requests.Response]:
    def complete(order_id: str) -> requests.Response:
        return requests.post(
            f"{url}/v1/orders/{order_id}/complete", headers=_headers(key), timeout=TIMEOUT
        )

    return _in_parallel(complete, ids)


def _account(db, phone: str) -> dict[str, int]:
    """The guest's stored figures in kopecks, and how many orders of each status."""
    with db.unit_of_work(write=False) as session:
        guest = session.scalar(select(Guest).where(Guest.phone == phone))
        statuses = Counter(
            session.scalars(select(Order.status).where(Order.guest_id == guest.id)).all()
        )
    return {"balance": guest.balance, "held": guest.held, "statuses": statuses}


def _assert_refusal_is_a_clear_422(response: requests.Response, asked: Decimal) -> None:
    """A refused spend is a 422 problem naming redeem, with the redeem_max it was over."""
    assert response.status_code == 422, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert {e["field"] for e in problem["errors"]} == {"redeem"}, problem
    assert Decimal(problem["redeem_max"]) < asked, problem


def _kopecks(amount: str | Decimal) -> int:
    return int(Decimal(amount) * 100)


def test_two_hundred_concurrent_redemptions_never_overdraw_a_balance_of_1000(
    gunicorn_url, api_key, fake_twilio, db
):
    phone, token = _guest_with_balance(gunicorn_url, api_key, fake_twilio, db)

    placed = _place_all(gunicorn_url, api_key, phone, token)

    statuses = Counter(r.status_code for r in placed.values())
    assert set(statuses) <= {201, 422}, statuses  # no 5xx, no 409: every id and key is fresh
    won = {i: r for i, r in placed.items() if r.status_code == 201}
    for n, response in enumerate(placed.values()):
        if response.status_code == 422:
            _assert_refusal_is_a_clear_422(response, _redeem(n))
    spent = sum(_kopecks(r.json()["redeemed"]) for r in won.values())
    assert all(Decimal(r.json()["available"]) >= 0 for r in won.values())
    assert spent <= _kopecks(BALANCE)
    # 1,700 asked of 1,000: whatever is left is too little for the smallest refused spend
    assert _kopecks(BALANCE) - spent < _kopecks(max(REDEEMS)), (spent, statuses)
    account = _account(db, phone)
    assert_ledger_reconciles(db)  # balance ≥ held ≥ 0, every figure the ledger's
    assert (account["balance"], account["held"]) == (_kopecks(BALANCE), spent)
    assert account["statuses"] == {"placed": len(won)}  # refused orders left no row

    completed = _complete_all(gunicorn_url, api_key, list(won))

    assert Counter(r.status_code for r in completed) == {200: len(won)}, [
        r.text for r in completed if r.status_code != 200
    ]
    accrued = sum(_kopecks(r.json()["accrued"]) for r in completed)
    assert accrued == sum(_kopecks(r.json()["accrual"]) for r in won.values())
    account = _account(db, phone)
    assert_ledger_reconciles(db)  # balance ≥ held ≥ 0, every figure the ledger's
    assert account["held"] == 0
    assert account["balance"] == _kopecks(BALANCE) - spent + accrued
    assert account["statuses"] == {"completed": len(won)}
