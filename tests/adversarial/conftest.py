"""Adversarial fixtures: a key holding every scope, two guests with fixed phones (so generated
requests can name them), an order of each status, and guest tokens minted without an SMS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.services import guests
from tests.support.http import login
from tests.support.populated import ORDERS, POOR, RICH, Populated
from tests.support.servers import threaded_server
from tests.support.shop import delivery, pickup


@pytest.fixture
def settings_overrides() -> dict:
    """A guest may ask for a new code at once: the tests log the same guests in repeatedly."""
    return {"sms_resend_seconds": 0}


@pytest.fixture
def http_server(app) -> Iterator[str]:
    """Like live_server, but stops within 50 ms: twenty fuzzed operations start twenty."""
    with threaded_server(app, poll_interval=0.05) as url:
        yield url


@pytest.fixture
def full_key(make_key) -> str:
    """An API key with checkout, operator and admin scopes."""
    return make_key("checkout", "operator", "admin", name="everything")


@pytest.fixture
def mint_token(app):
    """mint_token(phone) → a fresh live token of that registered guest (no SMS sent)."""

    def mint(phone: str) -> str:
        with get_db(app).unit_of_work() as session:
            guest = guests.find(session, phone)
            token = guests.issue_token(session, guest, utcnow(), timedelta(days=1),
                                       code_purpose="login")  # fmt: skip
            session.commit()
        return token

    return mint


@pytest.fixture
def populated(shop, client, fake_twilio) -> Populated:
    """RICH: 500 given + 80 earned by P-done (completed), 50 held by P-placed; POOR: nothing,
    and P-gone cancelled."""
    rich_token, poor_token = login(client, fake_twilio, RICH), login(client, fake_twilio, POOR)
    shop.adjust(RICH, "500.00")
    placed = shop.place(RICH, delivery("1000.00"), "50.00", token=rich_token, oid=ORDERS[0])
    done = shop.place(RICH, pickup("800.00"), oid=ORDERS[1])
    gone = shop.place(POOR, pickup("300.00"), oid=ORDERS[2])
    assert [placed.status_code, done.status_code, gone.status_code] == [201, 201, 201]
    assert shop.complete(ORDERS[1]).status_code == 200
    assert shop.cancel(ORDERS[2]).status_code == 200
    return Populated(shop, rich_token, poor_token)
