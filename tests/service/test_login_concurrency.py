"""Parallel guesses over real HTTP against a running server count one by one."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.service.helpers import new_phone


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
