"""The fake Twilio itself: what it records, checks and fails on, for every suite that uses it."""

import threading
import time

import pytest
import requests

from tests.support.fake_twilio import FakeTwilio, segments

GUEST = "+79123456789"


def post(fake, form, auth=None, sid=None):
    url = f"{fake.base_url}/2010-04-01/Accounts/{sid or fake.account_sid}/Messages.json"
    auth = auth or (fake.account_sid, fake.auth_token)
    return requests.post(url, data=form, auth=auth, timeout=5)


def message(to=GUEST, body="Код: 004217"):
    return {"To": to, "From": "+15005550006", "Body": body}


def test_a_message_is_answered_like_twilios_message_resource(fake_twilio):
    answer = post(fake_twilio, message())
    assert answer.status_code == 201
    resource = answer.json()
    assert resource["status"] == "queued"
    assert (resource["to"], resource["from"]) == (GUEST, "+15005550006")
    assert resource["body"] == "Код: 004217"
    assert resource["sid"].startswith("SM") and len(resource["sid"]) == 34
    assert resource["uri"].endswith(f"/Messages/{resource['sid']}.json")
    assert resource["num_segments"] == "1"
    assert resource["date_created"].endswith("+0000")


def test_wrong_credentials_get_twilios_401_with_code_20003(fake_twilio):
    answer = post(fake_twilio, message(), auth=(fake_twilio.account_sid, "wrong"))
    assert answer.status_code == 401
    assert answer.json()["code"] == 20003
    assert fake_twilio.messages == []


def test_another_account_is_not_found(fake_twilio):
    answer = post(fake_twilio, message(), sid="AC" + "1" * 32)
    assert answer.status_code == 404
    assert answer.json()["code"] == 20404


@pytest.mark.parametrize(
    ("field", "code"), [("To", 21604), ("From", 21603), ("Body", 21602)]
)
def test_a_missing_field_is_a_400_with_twilios_code(fake_twilio, field, code):
    form = {**message(), field: ""}
    answer = post(fake_twilio, form)
    assert (answer.status_code, answer.json()["code"]) == (400, code)


def test_a_to_number_that_is_not_e164_is_invalid(fake_twilio):
    answer = post(fake_twilio, message(to="89123456789"))
    assert answer.json() == {
        "code": 21211,
        "message": "The 'To' number 89123456789 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }


def test_a_scripted_failure_lasts_for_its_count(fake_twilio):
    fake_twilio.fail_next("server_error", count=2)
    statuses = [post(fake_twilio, message()).status_code for _ in range(3)]
    assert statuses == [500, 500, 201]


def test_a_mode_lasts_until_reset(fake_twilio):
    fake_twilio.mode = "invalid_number"
    assert [post(fake_twilio, message()).status_code for _ in range(2)] == [400, 400]
    fake_twilio.reset()
    assert post(fake_twilio, message()).status_code == 201


def test_an_unknown_failure_kind_is_refused(fake_twilio):
    with pytest.raises(ValueError, match="unknown failure kind"):
        fake_twilio.fail_next("meteor")


def test_messages_to_and_last_code_follow_one_phone(fake_twilio):
    post(fake_twilio, message(body="Код: 111111"))
    post(fake_twilio, message(to="+79120000000", body="Код: 222222"))
    post(fake_twilio, message(body="Код: 333333"))
    post(fake_twilio, message(body="ВилкиНет: 120 бонусов сгорят 05.12.2026."))
    assert len(fake_twilio.messages_to(GUEST)) == 3
    assert fake_twilio.last_code(GUEST) == "333333"
    assert fake_twilio.last_code("+79120000000") == "222222"


def test_last_code_for_a_phone_never_texted_says_so(fake_twilio):
    with pytest.raises(LookupError, match=GUEST.replace("+", r"\+")):
        fake_twilio.last_code(GUEST)


def test_concurrent_messages_are_all_recorded(fake_twilio):
    threads = [
        threading.Thread(target=post, args=(fake_twilio, message(body=f"Код: {n:06d}")))
        for n in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({m["sid"] for m in fake_twilio.messages}) == 20


def test_stopping_releases_a_hanging_request_promptly():
    fake = FakeTwilio(hang_seconds=30).start()
    fake.mode = "hang"
    outcome = []

    def ask():
        try:
            outcome.append(post(fake, message()))
        except requests.RequestException as exc:
            outcome.append(exc)

    client = threading.Thread(target=ask)
    client.start()
    time.sleep(0.2)
    started = time.monotonic()
    fake.stop()
    client.join(timeout=5)
    assert time.monotonic() - started < 2.0
    assert isinstance(outcome[0], requests.ConnectionError)
    assert fake.messages == []


def test_the_base_url_is_only_known_while_running():
    fake = FakeTwilio()
    with pytest.raises(RuntimeError):
        _ = fake.base_url
    with fake:
        assert fake.base_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("body", "parts"),
    [("a" * 160, 1), ("a" * 161, 2), ("я" * 70, 1), ("я" * 71, 2), ("я" * 134, 2), ("{" * 81, 2)],
)
def test_segments_are_counted_like_twilio_bills_them(body, parts):
    assert segments(body) == parts
