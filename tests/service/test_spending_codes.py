"""Login codes only log in; spending codes confirm one order of one client, up to an amount."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from freezegun import freeze_time

from bonus_service.clock import utcnow
from tests.support.http import ask_code, bearer, login, problem_fields
from tests.support.pages import csrf_token, text
from tests.support.phones import new_phone
from tests.support.shop import pickup

LATER = timedelta(minutes=2)  # past the resend wait of the code the guest logged in with


def test_a_login_code_offered_as_confirmation_code_is_no_consent(shop):
    """One code was both the login and the consent: a code read out at a till could be
    exchanged for a 30-day token. A login code now only logs in."""
    phone, token = shop.guest("100")
    with freeze_time(utcnow() + LATER):
        code = ask_code(shop.client, shop.fake, phone)
        spend = shop.place(phone, pickup("400.00"), redeem="10", confirmation_code=code)
    assert spend.status_code == 403, spend.get_json()
    assert problem_fields(spend) == {"confirmation_code": "expired or not requested"}
    assert shop.me(token)["available"] == "100.00"


def test_a_spending_code_never_logs_in_and_is_refused_like_a_wrong_code(shop):
    phone, _ = shop.guest("100")
    with freeze_time(utcnow() + LATER):
        code = shop.spending_code(phone, "50")
        verified = shop.client.post("/v1/auth/verify", json={"phone": phone, "code": code})
    assert verified.status_code == 401
    assert "token" not in verified.get_json()
    # the answer of a code that simply is not the phone's: expired or not requested
    assert problem_fields(verified) == {"code": "expired or not requested"}
    # and it still confirms the order it was asked for
    with freeze_time(utcnow() + LATER):
        spend = shop.place(phone, pickup("400.00"), redeem="50", confirmation_code=code)
    assert spend.status_code == 201, spend.get_json()


def test_a_spending_code_does_not_open_the_cabinet(client, shop):
    phone, _ = shop.guest("100")
    with freeze_time(utcnow() + LATER) as clock:
        code = shop.spending_code(phone, "50")
        clock.tick(timedelta(minutes=2))  # the cabinet texts its own login code first
        sent = client.post("/cabinet/code", data={"phone": phone, "csrf_token": csrf_token(client)})
        assert sent.status_code == 303
        typed = client.post("/cabinet/verify",
                            data={"code": code, "csrf_token": csrf_token(client)})
        assert typed.status_code == 422
        assert "Неверный код. Осталось попыток: 4." in text(typed)
        assert "Мои бонусы" not in text(client.get("/cabinet"))


def test_a_spending_code_is_used_once_and_a_retried_order_replays(shop):
    phone, token = shop.guest("100")
    with freeze_time(utcnow() + LATER):
        code = shop.spending_code(phone, "20")
        body = dict(redeem="20", confirmation_code=code, oid="SPEND-1")
        first = shop.place(phone, pickup("400.00"), key="spend-1", **body)
        assert first.status_code == 201, first.get_json()
        retried = shop.place(phone, pickup("400.00"), key="spend-1", **body)
        assert (retried.status_code, retried.data) == (201, first.data)
        assert retried.headers["Idempotent-Replayed"] == "true"
        second = shop.place(phone, pickup("400.00"), redeem="20", confirmation_code=code)
    assert second.status_code == 403
    assert problem_fields(second) == {"confirmation_code": "expired or not requested"}
    assert shop.me(token)["available"] == "80.00"


def test_a_spending_code_over_its_amount_is_403_and_stays_for_a_smaller_spend(shop):
    phone, token = shop.guest("100")
    with freeze_time(utcnow() + LATER):
        code = shop.spending_code(phone, "30")
        over = shop.place(phone, pickup("400.00"), redeem="31", confirmation_code=code)
        assert over.status_code == 403, over.get_json()
        assert problem_fields(over) == {"confirmation_code": "allows at most 30.00"}
        assert over.get_json()["allowed"] == "30.00"
        assert shop.me(token)["available"] == "100.00"
        within = shop.place(phone, pickup("400.00"), redeem="30", confirmation_code=code)
        assert within.status_code == 201, within.get_json()
    assert shop.me(token)["available"] == "70.00"


def test_another_clients_spending_code_is_refused(shop, make_key):
    """The call center asked for the code: the site cannot spend with it, nor use it up."""
    phone, token = shop.guest("100")
    call_center = make_key("checkout", name="call-center-till")
    with freeze_time(utcnow() + LATER):
        code = shop.spending_code(phone, "10", api_key=call_center)
        spend = shop.place(phone, pickup("400.00"), redeem="10", confirmation_code=code)
        assert spend.status_code == 403
        assert problem_fields(spend) == {"confirmation_code": "expired or not requested"}
        order = {"id": "CC-1", "phone": phone, "order": pickup("400.00"), "redeem": "10",
                 "confirmation_code": code}  # fmt: skip
        own = shop.client.post("/v1/orders", json=order, headers=bearer(call_center))
        assert own.status_code == 201, own.get_json()
    assert shop.me(token)["available"] == "90.00"


def test_an_expired_spending_code_is_refused(shop):
    phone, token = shop.guest("100")
    with freeze_time(utcnow() + LATER) as clock:
        answer = shop.ask_spending_code(phone, "10")
        assert answer.status_code == 202
        assert answer.get_json() == {"expires_in": 300, "resend_after": 60}
        code = shop.fake.last_code(phone)
        clock.tick(timedelta(seconds=301))
        spend = shop.place(phone, pickup("400.00"), redeem="10", confirmation_code=code)
    assert spend.status_code == 403
    assert problem_fields(spend) == {"confirmation_code": "expired or not requested"}
    assert shop.me(token)["available"] == "100.00"


def test_the_sms_texts_say_which_code_is_which(shop):
    phone = new_phone()
    login(shop.client, shop.fake, phone)
    with freeze_time(utcnow() + LATER):
        shop.spending_code(phone, "150")
    logs_in, spends = (message["body"] for message in shop.fake.messages_to(phone))
    assert logs_in.startswith("Код для входа в ВилкиНет: ")
    assert "Никому его не сообщайте" in logs_in and "оплат" not in logs_in
    assert spends.startswith("Код для оплаты бонусами до 150 ₽ одного заказа в ВилкиНет: ")
    assert spends.endswith("сообщите его кассиру.")


def test_an_amount_sent_as_a_json_number_is_read_as_roubles(shop):
    phone, _ = shop.guest("100")
    with freeze_time(utcnow() + LATER):
        answer = shop.client.post("/v1/orders/confirmation-code",
                                  data=f'{{"phone": "{phone}", "amount": 12.5}}',
                                  content_type="application/json", headers=bearer(shop.checkout))
    assert answer.status_code == 202, answer.get_json()
    assert "до 12,50 ₽" in shop.fake.messages_to(phone)[-1]["body"]


def test_asking_for_spending_codes_is_limited_per_phone(shop):
    phone, _ = shop.guest("100")
    with freeze_time(utcnow() + LATER):
        assert shop.ask_spending_code(phone, "10").status_code == 202
        again = shop.ask_spending_code(phone, "10")
    assert again.status_code == 429
    assert again.get_json()["limit"] == "phone_resend"
    assert 50 <= int(again.headers["Retry-After"]) <= 60
    assert len(shop.fake.messages_to(phone)) == 2  # the login code and one spending code


@pytest.mark.parametrize("settings_overrides", [{"sms_per_hour": 3}])
def test_a_spending_code_counts_against_the_hourly_sms_budget(shop, settings_overrides):
    """Three SMS an hour: two guests' login codes and one spending code. The next spending
    code is 503, and no SMS goes before the refusal."""
    phone, _ = shop.guest("100")
    other, _ = shop.guest("100")
    with freeze_time(utcnow() + LATER):
        assert shop.ask_spending_code(phone, "10").status_code == 202
        refused = shop.ask_spending_code(other, "10")
    assert refused.status_code == 503
    assert refused.get_json()["limit"] == "sms_budget"
    assert int(refused.headers["Retry-After"]) > 0
    assert len(shop.fake.messages_to(other)) == 1  # its login code only


def test_an_unregistered_phone_gets_the_same_answer_and_no_sms(shop):
    phone = new_phone()
    answer = shop.ask_spending_code(phone, "10")
    assert (answer.status_code, answer.get_json()) == (202, {"expires_in": 300, "resend_after": 60})
    assert shop.fake.messages_to(phone) == []
    again = shop.ask_spending_code(phone, "10")  # limited as a registered phone is
    assert again.status_code == 429 and again.get_json()["limit"] == "phone_resend"


def test_a_retried_request_replays_and_texts_nothing_more(shop):
    phone, _ = shop.guest("100")
    with freeze_time(utcnow() + LATER):
        first = shop.ask_spending_code(phone, "10", key="code-1")
        again = shop.ask_spending_code(phone, "10", key="code-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(shop.fake.messages_to(phone)) == 2  # the login code and one spending code


def test_asking_for_a_spending_code_is_checked(shop):
    phone, _ = shop.guest("100")
    no_key = shop.client.post("/v1/orders/confirmation-code", json={"phone": phone, "amount": "1"},
                              headers=bearer(shop.checkout, None))  # fmt: skip
    assert no_key.status_code == 400
    assert problem_fields(no_key) == {"Idempotency-Key": "missing"}
    zero = shop.ask_spending_code(phone, "0")
    assert zero.status_code == 422 and problem_fields(zero) == {"amount": "must be more than 0"}
    operator = shop.ask_spending_code(phone, "10", api_key=shop.operator)
    assert operator.status_code == 403
    assert len(shop.fake.messages_to(phone)) == 1  # the login code only


def test_two_parallel_orders_with_one_spending_code_spend_once(app, live_server, shop):
    phone, token = shop.guest("100")
    code = None
    with freeze_time(utcnow() + LATER):
        code = shop.spending_code(phone, "10")

    def place(_):
        body = {"id": uuid.uuid4().hex, "phone": phone, "redeem": "10", "confirmation_code": code,
                "order": {"channel": "pickup", "items": [{"sku": "A", "qty": 1,
                                                           "price": "400.00"}]}}  # fmt: skip
        headers = {"Authorization": f"Bearer {shop.checkout}", "Idempotency-Key": uuid.uuid4().hex}
        return requests.post(f"{live_server}/v1/orders", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(r.status_code for r in pool.map(place, range(8)))
    assert statuses == {201: 1, 403: 7}
    assert shop.me(token)["available"] == "90.00"


def test_eight_parallel_requests_for_one_phone_text_one_spending_code(app, live_server, shop):
    """Each request used to text its code before counting it: 7-8 SMS went for one 202, and
    the guest held codes that were never stored. The count now comes first, under the lock."""
    phone, _ = shop.guest("100")

    def ask(_):
        headers = {"Authorization": f"Bearer {shop.checkout}", "Idempotency-Key": uuid.uuid4().hex}
        return requests.post(f"{live_server}/v1/orders/confirmation-code",
                             json={"phone": phone, "amount": "10"}, headers=headers, timeout=30)

    with freeze_time(utcnow() + LATER), ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(r.status_code for r in pool.map(ask, range(8)))
    assert statuses == {202: 1, 429: 7}
    assert len(shop.fake.messages_to(phone)) == 2  # the login code and one spending code


def test_the_spec_documents_the_spending_code(client):
    asked = client.get("/openapi.json").get_json()["paths"]["/v1/orders/confirmation-code"]
    assert "202" in asked["post"]["responses"]
    assert "never logs in" in asked["post"]["description"]


def test_the_path_of_the_spending_code_is_no_order_id(shop):
    """/v1/orders/confirmation-code allows what it documents (POST), not the order read."""
    read = shop.client.get("/v1/orders/confirmation-code", headers=bearer(shop.checkout, None))
    assert read.status_code == 405
    assert set(read.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    phone, _ = shop.guest()
    placed = shop.place(phone, pickup("400.00"), oid="confirmation-code")
    assert placed.status_code == 422 and "id" in problem_fields(placed)
