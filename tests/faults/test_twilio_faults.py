"""Twilio hangs, fails or drops the connection, under a real gunicorn: nobody is half-registered,
no code is counted as sent, and logging in with a code already sent goes on working."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from bonus_service.db import Database
from bonus_service.models import AuditEntry, Guest, LoginCode, SmsSend
from bonus_service.problems import PROBLEM_JSON
from tests.support.fake_twilio import CODE
from tests.support.guests import seed
from tests.support.servers import wait_until

TWILIO_TIMEOUT = 2  # seconds; the fake hangs for 10
NEWCOMER = "+79195550001"


@pytest.fixture
def world(database_url, serve):
    """(base URL, operator key, database) of a gunicorn whose Twilio gives up after 2 s."""
    db = Database(database_url)
    seeded = seed(db, guest_count=0)
    server = serve(database_url, TWILIO_TIMEOUT_SECONDS=str(TWILIO_TIMEOUT))
    yield server.url, seeded.key, db
    db.dispose()


def traces_of(db: Database, phone: str) -> dict[str, int]:
    """Everything a registration or a code leaves behind for `phone`."""
    with db.unit_of_work(write=False) as session:
        count = lambda query: session.scalar(select(func.count()).select_from(query.subquery()))  # noqa: E731
        return {
            "guests": count(select(Guest.id).where(Guest.phone == phone)),
            "sms_sends": count(select(SmsSend.id).where(SmsSend.phone == phone)),
            "live_codes": count(select(LoginCode.phone).where(
                LoginCode.phone == phone, LoginCode.code_hash.is_not(None))),
            "audit": count(select(AuditEntry.id).where(AuditEntry.target == phone)),
        }  # fmt: skip


def register(url: str, key: str, phone: str, idempotency_key: str = "reg-1"):
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key}
    return requests.post(f"{url}/v1/guests", json={"phone": phone}, headers=headers, timeout=30)


def assert_unavailable(answer) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["Content-Type"] == PROBLEM_JSON and answer.headers["Retry-After"]


def test_a_registration_while_twilio_hangs_is_503_and_registers_nobody(world, fake_twilio):
    url, key, db = world
    fake_twilio.fail_next("hang")
    started = time.monotonic()
    assert_unavailable(register(url, key, NEWCOMER))
    assert time.monotonic() - started >= TWILIO_TIMEOUT
    assert traces_of(db, NEWCOMER) == {"guests": 0, "sms_sends": 0, "live_codes": 0, "audit": 0}
    assert register(url, key, NEWCOMER).status_code == 201  # the same key: the 503 was not kept
    assert traces_of(db, NEWCOMER) == {"guests": 1, "sms_sends": 1, "live_codes": 1, "audit": 1}


@pytest.mark.parametrize("failure", ["server_error", "drop", "hang"])
def test_a_code_twilio_did_not_send_is_not_counted_and_may_be_asked_again(
    world, fake_twilio, failure
):
    url, _, db = world
    fake_twilio.fail_next(failure)
    ask = lambda: requests.post(f"{url}/v1/auth/sms-code", json={"phone": NEWCOMER}, timeout=30)  # noqa: E731
    assert_unavailable(ask())
    assert traces_of(db, NEWCOMER)["sms_sends"] == traces_of(db, NEWCOMER)["live_codes"] == 0
    assert ask().status_code == 202  # at once: not 429, nothing was counted
    assert traces_of(db, NEWCOMER)["sms_sends"] == 1


def test_logging_in_is_not_held_up_while_a_registration_waits_on_twilio(world, fake_twilio):
    """The registration texts before its transaction: on SQLite a hanging Twilio used to hold
    the database's only write lock, and every other writer (here a login) waited behind it."""
    url, key, _ = world
    guest = "+79195550002"
    assert requests.post(f"{url}/v1/auth/sms-code", json={"phone": guest}, timeout=10).ok
    code, attempts = fake_twilio.last_code(guest), fake_twilio.attempts
    fake_twilio.mode = "hang"
    waiting = threading.Thread(target=register, args=(url, key, NEWCOMER), daemon=True)
    waiting.start()
    assert wait_until(lambda: fake_twilio.attempts > attempts, 5)  # the registration is stuck
    started = time.monotonic()
    verified = requests.post(
        f"{url}/v1/auth/verify", json={"phone": guest, "code": code}, timeout=30
    )
    elapsed = time.monotonic() - started
    fake_twilio.mode = None
    waiting.join(30)
    assert verified.status_code == 200, verified.text
    assert elapsed < 1.0, f"the login waited {elapsed:.1f} s behind the hanging registration"


def test_a_registration_retried_after_a_lost_answer_texts_the_same_code(world, fake_twilio):
    """Twilio took the SMS but its answer was lost (the client gave up): the retry under the
    same Idempotency-Key texts again, and both messages carry the one code that works."""
    url, key, db = world
    fake_twilio.hang_seconds = TWILIO_TIMEOUT + 0.5  # answered (and sent) after the client left
    fake_twilio.fail_next("hang")
    assert_unavailable(register(url, key, NEWCOMER, "reg-lost"))
    assert wait_until(lambda: len(fake_twilio.messages_to(NEWCOMER)) == 1, 5)
    assert traces_of(db, NEWCOMER)["guests"] == 0
    assert register(url, key, NEWCOMER, "reg-lost").status_code == 201
    first, second = (CODE.search(m["body"]).group() for m in fake_twilio.messages_to(NEWCOMER))
    assert first == second
    verified = requests.post(
        f"{url}/v1/auth/verify", json={"phone": NEWCOMER, "code": first}, timeout=10
    )
    assert verified.status_code == 200, verified.text
