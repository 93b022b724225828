"""One guest never sees or spends another's bonuses, and one API client never gets another's
answers: the ways a token, a code or an Idempotency-Key could cross from one owner to another."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from freezegun import freeze_time

from bonus_service.clock import utcnow
from tests.support.http import bearer, problem_fields
from tests.support.populated import ORDERS, POOR, RICH
from tests.support.shop import pickup
from tests.support.surface import assert_no_leak


def as_guest(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def held(shop, token: str) -> Decimal:
    me = shop.me(token)
    return Decimal(me["balance"]) - Decimal(me["available"])


def test_me_shows_each_guest_only_their_own_account(client, populated):
    rich = client.get("/v1/me", headers=as_guest(populated.rich_token)).get_json()
    poor = client.get("/v1/me", headers=as_guest(populated.poor_token)).get_json()
    assert (rich["phone"], rich["balance"], rich["available"]) == (RICH, "580.00", "530.00")
    assert (poor["phone"], poor["balance"], poor["available"]) == (POOR, "0.00", "0.00")


def test_history_pages_never_reach_into_another_guests_entries(client, populated):
    rich = client.get("/v1/me/history", headers=as_guest(populated.rich_token)).get_json()
    newest_rich = rich["entries"][0]["id"]
    for before in (newest_rich + 1, newest_rich, 1_000_000):
        page = client.get(
            f"/v1/me/history?before={before}&limit=100", headers=as_guest(populated.poor_token)
        )
        assert_no_leak(page)
        orders = {entry["order_id"] for entry in page.get_json()["entries"]}
        assert orders <= {ORDERS[2]}, orders  # the poor guest's own cancelled order only


def test_another_guests_token_cannot_consent_to_spending(client, populated):
    shop = populated.shop
    before = held(shop, populated.rich_token)
    answer = shop.place(RICH, pickup("1000.00"), "100.00", token=populated.poor_token)
    assert answer.status_code == 403
    assert "X-Guest-Token" in problem_fields(answer)
    assert held(shop, populated.rich_token) == before


def test_a_code_sent_to_another_phone_cannot_consent_to_spending(client, populated, fake_twilio):
    shop = populated.shop
    before = held(shop, populated.rich_token)
    with freeze_time(utcnow() + timedelta(minutes=2)):  # past the login code's resend wait
        code = shop.spending_code(POOR, "100.00")
        answer = shop.place(RICH, pickup("1000.00"), "100.00", confirmation_code=code)
    assert answer.status_code == 403
    assert "confirmation_code" in problem_fields(answer)
    assert held(shop, populated.rich_token) == before


def test_a_logged_out_token_opens_nothing(client, populated):
    token = populated.poor_token
    assert client.post("/v1/auth/logout", headers=as_guest(token)).status_code == 204
    assert client.get("/v1/me", headers=as_guest(token)).status_code == 401


def test_one_clients_idempotency_key_never_replays_to_another_client(client, populated, make_key):
    site, app_key = make_key("checkout", name="site-2"), make_key("checkout", name="app-2")
    first = {"id": "X-site", "phone": RICH, "order": pickup("600.00"), "redeem": "0"}
    second = {"id": "X-app", "phone": POOR, "order": pickup("700.00"), "redeem": "0"}
    assert client.post("/v1/orders", json=first, headers=bearer(site, "shared")).status_code == 201
    answer = client.post("/v1/orders", json=second, headers=bearer(app_key, "shared"))
    assert answer.status_code == 201
    assert answer.get_json()["id"] == "X-app"
    assert "Idempotent-Replayed" not in answer.headers
