"""Parallel guesses over real HTTP against a running server count one by one."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from tests.support.guests import make_guest
from tests.support.phones import new_phone


def _ask(base: str, phone: str, fake) -> str:
    response = requests.post(f"{base}/v1/auth/sms-code", json={"phone": phone}, timeout=10)
    assert response.status_code == 202, response.text
    return fake.last_code(phone)


def _verify_many(base: str, phone: str, codes: list[str]) -> list[requests.Response]:
    def verify(code):
        return requests.post(
            f"{base}/v1/auth/verify", json={"phone": phone, "code": code}, timeout=30
        )

    with ThreadPoolExecutor(max_workers=len(codes)) as pool:
        return list(pool.map(verify, codes))


def test_fifty_parallel_wrong_guesses_count_as_fifty(live_server, fake_twilio):
    phone = new_phone()
    code = _ask(live_server, phone, fake_twilio)
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 51)]
    statuses = Counter(r.status_code for r in _verify_many(live_server, phone, wrong))
    assert statuses == {401: 4, 429: 46}
    late = requests.post(
        f"{live_server}/v1/auth/verify", json={"phone": phone, "code": code}, timeout=10
    )
    assert late.status_code == 429


def test_twenty_parallel_right_codes_issue_exactly_one_token(live_server, fake_twilio):
    phone = new_phone()
    code = _ask(live_server, phone, fake_twilio)
    answers = _verify_many(live_server, phone, [code] * 20)
    tokens = [r.json()["token"] for r in answers if r.status_code == 200]
    assert len(tokens) == 1
    assert all(r.status_code in (401, 429) for r in answers if r.status_code != 200)


def test_parallel_wrong_confirmation_codes_count_one_by_one(app, live_server, shop):
    """Twenty orders at once, each with another wrong spending code and its own
    Idempotency-Key: the code's five tries are spent one by one (403 ×4, then 429), none lost
    to a rollback."""
    phone = make_guest(get_db(app), utcnow()).phone
    shop.adjust(phone, "100")
    code = shop.spending_code(phone, "10")
    order = {"channel": "pickup", "items": [{"sku": "A", "qty": 1, "price": "400.00"}]}

    def place(confirmation_code):
        body = {"id": uuid.uuid4().hex, "phone": phone, "order": order, "redeem": "10",
                "confirmation_code": confirmation_code}  # fmt: skip
        headers = {"Authorization": f"Bearer {shop.checkout}",
                   "Idempotency-Key": uuid.uuid4().hex}  # fmt: skip
        return requests.post(f"{live_server}/v1/orders", json=body, headers=headers, timeout=30)

    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 21)]
    with ThreadPoolExecutor(max_workers=len(wrong)) as pool:
        statuses = Counter(r.status_code for r in pool.map(place, wrong))
    assert statuses == {403: 4, 429: 16}
    assert place(code).status_code == 429  # the right code came too late
