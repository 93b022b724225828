"""PostgreSQL dies under load and comes back: the service says 503 (never 500) meanwhile,
recovers by itself, and the ledger holds no half-made movement.

A private cluster (tests/faults/conftest.py) is stopped with `pg_ctl stop -m immediate`, as in
a crash, while client threads quote, place and complete orders against a real gunicorn.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
import requests

from bonus_service.db import Database
from bonus_service.migrate import upgrade
from bonus_service.problems import PROBLEM_JSON
from tests.support.guests import Seeded, seed
from tests.support.ledger_checks import assert_ledger_invariants
from tests.support.servers import wait_until

CLIENTS = 4
_orders = itertools.count(1)


@dataclass(frozen=True)
class Answer:
    started: float
    ended: float
    verb: str
    status: int  # 0: no HTTP answer at all
    content_type: str
    retry_after: str | None


@dataclass
class Load:
    """Client threads doing checkout verbs until told to stop; every answer is kept."""

    base_url: str
    seeded: Seeded
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def call(self, session, verb: str, path: str, body: dict | None, **headers) -> Answer:
        started = time.monotonic()
        headers = {"Authorization": f"Bearer {self.seeded.key}", **headers}
        headers["Idempotency-Key"] = uuid.uuid4().hex
        try:
            r = session.post(self.base_url + path, json=body, headers=headers, timeout=15)
            status, kind = r.status_code, r.headers.get("Content-Type", "")
            retry = r.headers.get("Retry-After")
        except requests.RequestException:
            status, kind, retry = 0, "", None
        answer = Answer(started, time.monotonic(), verb, status, kind, retry)
        self.answers.append(answer)
        return answer

    def shop(self, phone: str) -> None:
        """One client: quote, place spending 10.00, then complete (or every third, cancel)."""
        session, token = requests.Session(), self.seeded.tokens[phone]
        order = {"channel": "pickup", "items": [{"sku": "L-1", "qty": 1, "price": "700.00"}]}
        while not self.stop.is_set():
            self.call(session, "quote", "/v1/quote", {"phone": phone, "order": order})
            order_id = f"L-{next(_orders):06d}"
            body = {"id": order_id, "phone": phone, "order": order, "redeem": "10.00"}
            placed = self.call(session, "place", "/v1/orders", body, **{"X-Guest-Token": token})
            if placed.status == 201:
                verb = "cancel" if int(order_id[2:]) % 3 == 0 else "complete"
                self.call(session, verb, f"/v1/orders/{order_id}/{verb}", None)

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.shop, args=(p,), daemon=True)
                   for p in self.seeded.phones[:CLIENTS]]  # fmt: skip
        for thread in threads:
            thread.start()
        return threads

    def successes_since(self, moment: float) -> int:
        return sum(1 for a in list(self.answers) if a.started > moment and 200 <= a.status < 300)


def assert_outage_answers(answers: list[Answer], crash: float, down: float, up: float) -> None:
    """All went well before the crash; every 5xx is a 503 problem with Retry-After; requests
    made while the server was down got exactly that."""
    healthy = {a.status for a in answers if a.ended < crash}
    assert healthy and all(200 <= status < 300 for status in healthy), healthy
    for answer in answers:
        assert answer.status != 0, f"no HTTP answer to {answer.verb}: the server itself failed"
        if answer.status >= 500:
            assert answer.status == 503, answer
            assert answer.content_type.startswith(PROBLEM_JSON) and answer.retry_after, answer
    during = [a for a in answers if a.started > down and a.ended < up]
    assert len(during) >= CLIENTS, "the load did not reach the service while it was down"
    assert {a.status for a in during} == {503}, sorted({a.status for a in during})


@pytest.mark.slow
def test_a_database_crash_is_503_then_recovered_without_a_restart(private_cluster, serve):
    db = Database(private_cluster.url)
    upgrade(db)
    seeded = seed(db)
    server = serve(private_cluster.url, workers=2)
    load = Load(server.url, seeded)
    threads = load.run()
    try:
        assert wait_until(lambda: load.successes_since(0) >= 20, within=30)
        crash = time.monotonic()
        private_cluster.stop("immediate")
        down = time.monotonic()
        time.sleep(2)
        ready = requests.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.headers["Content-Type"] == PROBLEM_JSON
        up = time.monotonic()
        private_cluster.start()
        # a worker's first read and first write on dead connections answer 503 and invalidate
        # their pool (reads and writes have one each);
        # the next ones reconnect: no restart of gunicorn is needed
        assert wait_until(lambda: load.successes_since(time.monotonic() - 1) >= 10, within=30)
        assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 200
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(20)
    assert_outage_answers(load.answers, crash, down, up)
    db.dispose()  # this pool's connections died with the server too
    assert_ledger_invariants(db)
    db.dispose()
