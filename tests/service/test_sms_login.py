"""Guests log in with an SMS code: limits at their edges, single use, no enumeration."""

from datetime import timedelta

import pytest
from freezegun import freeze_time

from tests.support.http import ask_code, login, problem_fields
from tests.support.phones import new_phone

START = "2026-03-01T10:00:00+00:00"


def test_a_code_goes_by_sms_and_verifying_it_registers_the_guest(client, fake_twilio):
    phone = new_phone()
    response = client.post("/v1/auth/sms-code", json={"phone": phone})
    assert response.status_code == 202
    assert response.get_json() == {"phone": phone, "expires_in": 300, "resend_after": 60}
    message = fake_twilio.messages_to(phone)[-1]
    assert "Код" in message["body"]
    verified = client.post(
        "/v1/auth/verify", json={"phone": phone, "code": fake_twilio.last_code(phone)}
    )
    assert verified.status_code == 200
    body = verified.get_json()
    assert body["guest"]["phone"] == phone
    assert body["guest"]["balance"] == "0.00"
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.get_json()["phone"] == phone


@pytest.mark.parametrize("written", ["8 912 345-67-89", "+7 (912) 345 67 89", "9123456789"])
def test_phones_in_common_formats_are_normalised(client, fake_twilio, written):
    response = client.post("/v1/auth/sms-code", json={"phone": written})
    assert response.get_json()["phone"] == "+79123456789"


@pytest.mark.parametrize("phone", ["12345", "+44 20 7946 0958", "not a phone", ""])
def test_an_invalid_or_foreign_phone_is_a_422_naming_phone(client, phone):
    response = client.post("/v1/auth/sms-code", json={"phone": phone})
    assert response.status_code == 422
    assert "phone" in problem_fields(response)


def test_the_answer_is_the_same_for_registered_and_unknown_phones(client, fake_twilio):
    known, unknown = new_phone(), new_phone()
    with freeze_time(START) as clock:
        login(client, fake_twilio, known)
        clock.tick(61)
        a = client.post("/v1/auth/sms-code", json={"phone": known})
        b = client.post("/v1/auth/sms-code", json={"phone": unknown})
    assert a.status_code == b.status_code == 202
    assert a.get_json().keys() == b.get_json().keys()
    assert {k: v for k, v in a.get_json().items() if k != "phone"} == {
        k: v for k, v in b.get_json().items() if k != "phone"
    }


def test_a_wrong_code_is_401_with_the_attempts_left(client, fake_twilio):
    phone = new_phone()
    ask_code(client, fake_twilio, phone)
    response = client.post("/v1/auth/verify", json={"phone": phone, "code": "000000x"})
    assert response.status_code == 401
    assert response.get_json()["attempts_left"] == 4


def test_the_fifth_wrong_try_kills_the_code(client, fake_twilio):
    phone = new_phone()
    code = ask_code(client, fake_twilio, phone)
    wrong = "111111" if code != "111111" else "222222"
    answers = [
        client.post("/v1/auth/verify", json={"phone": phone, "code": wrong}) for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert [a.get_json().get("attempts_left") for a in answers[:4]] == [4, 3, 2, 1]
    assert "Retry-After" in answers[4].headers
    right = client.post("/v1/auth/verify", json={"phone": phone, "code": code})
    assert right.status_code == 429


def test_a_code_works_once(client, fake_twilio):
    phone = new_phone()
    code = ask_code(client, fake_twilio, phone)
    assert client.post("/v1/auth/verify", json={"phone": phone, "code": code}).status_code == 200
    again = client.post("/v1/auth/verify", json={"phone": phone, "code": code})
    assert again.status_code == 401


def test_a_code_lives_five_minutes(client, fake_twilio):
    phone_ok, phone_late = new_phone(), new_phone()
    with freeze_time(START) as clock:
        code_ok = ask_code(client, fake_twilio, phone_ok)
        code_late = ask_code(client, fake_twilio, phone_late)
        clock.tick(timedelta(seconds=299))
        assert (
            client.post("/v1/auth/verify", json={"phone": phone_ok, "code": code_ok}).status_code
            == 200
        )
        clock.tick(timedelta(seconds=2))
        late = client.post("/v1/auth/verify", json={"phone": phone_late, "code": code_late})
        assert late.status_code == 401


def test_a_second_code_waits_sixty_seconds(client, fake_twilio):
    phone = new_phone()
    with freeze_time(START) as clock:
        ask_code(client, fake_twilio, phone)
        clock.tick(timedelta(seconds=59))
        early = client.post("/v1/auth/sms-code", json={"phone": phone})
        assert early.status_code == 429
        assert early.headers["Retry-After"] == "1"
        clock.tick(timedelta(seconds=1))
        assert client.post("/v1/auth/sms-code", json={"phone": phone}).status_code == 202


def test_the_sixth_code_in_an_hour_is_refused_until_the_first_ages_out(client, fake_twilio):
    phone = new_phone()
    with freeze_time(START) as clock:
        for _ in range(5):
            ask_code(client, fake_twilio, phone)
            clock.tick(timedelta(seconds=61))
        sixth = client.post("/v1/auth/sms-code", json={"phone": phone})
        assert sixth.status_code == 429
        assert int(sixth.headers["Retry-After"]) == 3600 - 5 * 61
        clock.tick(timedelta(seconds=3600 - 5 * 61))
        assert client.post("/v1/auth/sms-code", json={"phone": phone}).status_code == 202


def test_the_eleventh_code_in_a_day_is_refused_until_the_first_is_a_day_old(client, fake_twilio):
    """Five codes an hour, each with five tries, all day long: 600 guesses a day at one phone's
    code, and as many SMS to flood it with (a security audit)."""
    phone = new_phone()
    with freeze_time(START) as clock:
        for _ in range(10):  # 13 minutes apart: never five within the hour
            ask_code(client, fake_twilio, phone)
            clock.tick(timedelta(minutes=13))
        eleventh = client.post("/v1/auth/sms-code", json={"phone": phone})
        assert eleventh.status_code == 429
        assert eleventh.get_json()["limit"] == "phone_day"
        assert int(eleventh.headers["Retry-After"]) == 24 * 3600 - 10 * 13 * 60
        clock.tick(timedelta(seconds=24 * 3600 - 10 * 13 * 60))
        assert client.post("/v1/auth/sms-code", json={"phone": phone}).status_code == 202


@pytest.mark.parametrize("settings_overrides", [{"sms_per_address_hour": 3}])
def test_one_address_may_ask_for_a_limited_number_of_codes(client, fake_twilio, settings_overrides):
    phones = [new_phone() for _ in range(4)]
    answers = [client.post("/v1/auth/sms-code", json={"phone": p}) for p in phones]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    other = client.post(
        "/v1/auth/sms-code", json={"phone": new_phone()}, environ_base={"REMOTE_ADDR": "10.9.8.7"}
    )
    assert other.status_code == 202


@pytest.mark.parametrize("settings_overrides", [{"sms_per_address_hour": 2, "proxy_hops": 1}])
def test_behind_a_trusted_proxy_each_guest_address_is_limited_alone(
    client, fake_twilio, settings_overrides
):
    for n in range(4):
        response = client.post(
            "/v1/auth/sms-code",
            json={"phone": new_phone()},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )
        assert response.status_code == 202
    spoofed = [
        client.post(
            "/v1/auth/sms-code",
            json={"phone": new_phone()},
            headers={"X-Forwarded-For": "198.51.100.77"},
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in spoofed] == [202, 202, 429]


def test_a_number_twilio_refuses_is_a_422_and_counts_nothing(client, fake_twilio):
    phone = new_phone()
    fake_twilio.fail_next("invalid_number")
    response = client.post("/v1/auth/sms-code", json={"phone": phone})
    assert response.status_code == 422
    assert "phone" in problem_fields(response)
    assert client.post("/v1/auth/sms-code", json={"phone": phone}).status_code == 202


@pytest.mark.parametrize("failure", ["server_error", "auth", "hang"])
def test_twilio_down_is_a_503_and_counts_nothing(client, fake_twilio, failure):
    phone = new_phone()
    fake_twilio.fail_next(failure)
    response = client.post("/v1/auth/sms-code", json={"phone": phone})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    verify = client.post("/v1/auth/verify", json={"phone": phone, "code": "123456"})
    assert verify.status_code == 401
    assert client.post("/v1/auth/sms-code", json={"phone": phone}).status_code == 202


def test_a_guest_token_expires_after_thirty_days(client, fake_twilio):
    phone = new_phone()
    with freeze_time(START) as clock:
        token = login(client, fake_twilio, phone)
        headers = {"Authorization": f"Bearer {token}"}
        clock.tick(timedelta(days=30, seconds=-1))
        assert client.get("/v1/me", headers=headers).status_code == 200
        clock.tick(timedelta(seconds=1))
        assert client.get("/v1/me", headers=headers).status_code == 401


def test_logout_revokes_the_token(client, fake_twilio):
    token = login(client, fake_twilio, new_phone())
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/v1/me", headers=headers).status_code == 401


def test_history_is_empty_and_paginated_before_any_order(client, fake_twilio):
    token = login(client, fake_twilio, new_phone())
    response = client.get("/v1/me/history?limit=5", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json() == {"entries": [], "next_before": None}
