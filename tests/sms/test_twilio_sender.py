"""The Twilio sender, with the real twilio client, against the fake Twilio over HTTP."""

import logging
import time

import pytest

from sms import SmsRejected, SmsUnavailable, TwilioSender
from tests.support.fake_twilio import FakeTwilio

GUEST = "+79123456789"


def sender_for(fake, **overrides):
    settings = {"api_base": fake.base_url, "timeout": 2.0, **overrides}
    return TwilioSender(fake.account_sid, fake.auth_token, fake.from_number, **settings)


def test_a_sent_message_reaches_twilio_with_its_recipient_sender_and_body(
    fake_twilio, twilio_sender
):
    sid = twilio_sender.send(GUEST, "Код для входа в ВилкиНет: 004217.")
    [message] = fake_twilio.messages
    assert message["sid"] == sid
    assert sid.startswith("SM") and len(sid) == 34
    assert (message["to"], message["from_"]) == (GUEST, fake_twilio.from_number)
    assert message["body"] == "Код для входа в ВилкиНет: 004217."
    assert fake_twilio.last_code(GUEST) == "004217"


def test_an_invalid_number_is_rejected_with_twilios_code(fake_twilio, twilio_sender):
    fake_twilio.fail_next("invalid_number")
    with pytest.raises(SmsRejected) as caught:
        twilio_sender.send(GUEST, "Код: 004217")
    assert caught.value.code == 21211
    assert "21211" in caught.value.reason
    assert fake_twilio.messages == []


@pytest.mark.parametrize(
    ("kind", "code"), [("unverified", 21608), ("unsubscribed", 21610), ("not_mobile", 21614)]
)
def test_other_recipient_problems_are_rejections_too(fake_twilio, twilio_sender, kind, code):
    fake_twilio.fail_next(kind)
    with pytest.raises(SmsRejected) as caught:
        twilio_sender.send(GUEST, "Код: 004217")
    assert caught.value.code == code


def test_wrong_credentials_make_the_service_unavailable_not_the_guest_wrong(fake_twilio):
    sender = TwilioSender(
        fake_twilio.account_sid, "wrong-token", fake_twilio.from_number,
        api_base=fake_twilio.base_url,
    )
    with pytest.raises(SmsUnavailable) as caught:
        sender.send(GUEST, "Код: 004217")
    assert caught.value.code == 20003
    assert "TWILIO_AUTH_TOKEN" in caught.value.reason
    assert not isinstance(caught.value, SmsRejected)


def test_a_scripted_auth_failure_is_unavailable_with_code_20003(fake_twilio, twilio_sender):
    fake_twilio.fail_next("auth")
    with pytest.raises(SmsUnavailable) as caught:
        twilio_sender.send(GUEST, "Код: 004217")
    assert caught.value.code == 20003


@pytest.mark.parametrize("kind", ["server_error", "rate_limited"])
def test_a_twilio_outage_or_rate_limit_is_unavailable(fake_twilio, twilio_sender, kind):
    fake_twilio.fail_next(kind)
    with pytest.raises(SmsUnavailable):
        twilio_sender.send(GUEST, "Код: 004217")


def test_twilio_is_asked_once_per_message_with_no_silent_retries(fake_twilio, twilio_sender):
    fake_twilio.fail_next("server_error")
    with pytest.raises(SmsUnavailable):
        twilio_sender.send(GUEST, "Код: 004217")
    assert fake_twilio.attempts == 1


def test_the_next_message_goes_through_once_the_failure_has_passed(fake_twilio, twilio_sender):
    fake_twilio.fail_next("server_error")
    with pytest.raises(SmsUnavailable):
        twilio_sender.send(GUEST, "Код: 111111")
    twilio_sender.send(GUEST, "Код: 222222")
    assert fake_twilio.last_code(GUEST) == "222222"


def test_a_hanging_twilio_is_unavailable_once_the_timeout_passes(fake_twilio):
    fake_twilio.mode = "hang"
    started = time.monotonic()
    with pytest.raises(SmsUnavailable) as caught:
        sender_for(fake_twilio, timeout=0.5).send(GUEST, "Код: 004217")
    assert 0.4 < time.monotonic() - started < 2.0
    assert "0.5 s" in caught.value.reason


def test_a_dropped_connection_is_unavailable_and_may_have_carried_the_message(
    fake_twilio, twilio_sender
):
    """Dropped after the request was written: Twilio may have queued it, so a burn warning
    must not be retried (a review); a refused connection carried nothing (below)."""
    fake_twilio.fail_next("drop")
    with pytest.raises(SmsUnavailable) as caught:
        twilio_sender.send(GUEST, "Код: 004217")
    assert caught.value.maybe_sent


def test_a_stopped_twilio_refusing_connections_is_unavailable():
    fake = FakeTwilio().start()
    sender = sender_for(fake)
    fake.stop()
    started = time.monotonic()
    with pytest.raises(SmsUnavailable) as caught:
        sender.send(GUEST, "Код: 004217")
    assert time.monotonic() - started < 2.0
    assert "no answer from Twilio" in caught.value.reason
    assert not caught.value.maybe_sent


def test_only_the_rejected_number_fails(fake_twilio, twilio_sender):
    fake_twilio.reject_number("+79120000000")
    with pytest.raises(SmsRejected):
        twilio_sender.send("+79120000000", "Код: 004217")
    twilio_sender.send(GUEST, "Код: 004217")
    assert [m["to"] for m in fake_twilio.messages] == [GUEST]


def test_twilio_environment_variables_do_not_change_where_or_how_the_sender_talks(
    fake_twilio, monkeypatch
):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "9" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "env-token")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    sender_for(fake_twilio).send(GUEST, "Код: 004217")
    assert fake_twilio.last_code(GUEST) == "004217"


def test_the_auth_token_and_the_code_never_reach_the_log(fake_twilio, twilio_sender, caplog):
    caplog.set_level(logging.DEBUG)
    twilio_sender.send(GUEST, "Код: 004217")
    fake_twilio.fail_next("auth")
    with pytest.raises(SmsUnavailable):
        twilio_sender.send(GUEST, "Код: 004217")
    assert fake_twilio.auth_token not in caplog.text
    assert "004217" not in caplog.text


@pytest.mark.parametrize(("kind", "expected"), [("auth", "(Twilio error 20003)"),
                                                ("server_error", "not sent"),
                                                ("invalid_number", "error 21211")])  # fmt: skip
def test_a_message_twilio_did_not_take_is_logged_with_its_cause(
    fake_twilio, twilio_sender, caplog, kind, expected
):
    """A wrong auth token or an outage was only a 503 to the client and nothing in the log;
    a refused recipient's line quoted Twilio's text, and with it the whole number."""
    caplog.set_level(logging.WARNING, logger="sms")
    fake_twilio.fail_next(kind)
    with pytest.raises(SmsUnavailable if kind != "invalid_number" else SmsRejected):
        twilio_sender.send(GUEST, "Код: 004217")
    [record] = [r for r in caplog.records if r.name == "sms"]
    assert record.levelno == logging.WARNING
    assert "SMS to +7912***89 not sent" in record.getMessage()
    assert expected in record.getMessage()
    assert GUEST not in caplog.text


def test_a_plain_http_twilio_base_is_refused_unless_it_is_this_machine(fake_twilio):
    """The auth token rides in every request's Authorization header."""
    with pytest.raises(ValueError, match="must be https unless it is this machine"):
        sender_for(fake_twilio, api_base="http://api.example.com")
    assert sender_for(fake_twilio, api_base="https://api.example.com")  # https anywhere
    assert sender_for(fake_twilio)  # the fake, on 127.0.0.1
