"""Parallel requests for one phone over real HTTP: one SMS, one code that works."""

import re
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.phones import new_phone

CODE = re.compile(r"\b\d{6}\b")
PARALLEL = 8


def _at_once(call, count: int = PARALLEL) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def _verify(base: str, phone: str, code: str) -> requests.Response:
    return requests.post(f"{base}/v1/auth/verify", json={"phone": phone, "code": code},
                         timeout=30)  # fmt: skip


def test_eight_parallel_registrations_of_one_phone_text_one_code_that_works(
    live_server, shop, fake_twilio
):
    """Each with its own Idempotency-Key: they used to text eight different codes, of which
    only the one the winning registration stored worked."""
    phone = new_phone()

    def register():
        headers = {"Authorization": f"Bearer {shop.operator}", "Idempotency-Key": uuid.uuid4().hex}
        return requests.post(f"{live_server}/v1/guests", json={"phone": phone}, headers=headers,
                             timeout=30)  # fmt: skip

    statuses = Counter(r.status_code for r in _at_once(register))
    assert statuses[201] == 1 and set(statuses) <= {201, 409, 429}, statuses
    (message,) = fake_twilio.messages_to(phone)
    assert _verify(live_server, phone, CODE.search(message["body"]).group()).status_code == 200


def test_eight_parallel_login_codes_for_one_phone_text_one(live_server, fake_twilio):
    phone = new_phone()

    def ask():
        return requests.post(f"{live_server}/v1/auth/sms-code", json={"phone": phone},
                             timeout=30)  # fmt: skip

    statuses = Counter(r.status_code for r in _at_once(ask))
    assert statuses == {202: 1, 429: PARALLEL - 1}, statuses
    (message,) = fake_twilio.messages_to(phone)
    assert _verify(live_server, phone, CODE.search(message["body"]).group()).status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"sms_per_hour": 3, "proxy_hops": 1}])
def test_parallel_codes_for_many_phones_never_pass_the_hourly_budget(
    live_server, fake_twilio, settings_overrides
):
    """Eight phones from eight networks at once (no phone, address or network lock in
    common): only the budget's lock keeps them to three."""
    asked = iter(range(PARALLEL))

    def ask():
        n = next(asked)
        return requests.post(f"{live_server}/v1/auth/sms-code", json={"phone": new_phone()},
                             headers={"X-Forwarded-For": f"203.0.{n}.1"}, timeout=30)  # fmt: skip

    statuses = Counter(r.status_code for r in _at_once(ask))
    assert statuses == {202: 3, 503: PARALLEL - 3}, statuses
    assert len(fake_twilio.messages) == 3
