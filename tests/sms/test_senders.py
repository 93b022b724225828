"""The console sender and the factory that picks a backend from the settings."""

import logging

import pytest

from sms import ConsoleSender, SmsSender, TwilioSender, make_sender

TWILIO = {"account_sid": "AC" + "0" * 32, "auth_token": "token", "from_number": "+15005550006"}


def test_the_console_sender_logs_the_message_on_the_sms_logger(caplog):
    caplog.set_level(logging.INFO, logger="sms")
    message_id = ConsoleSender().send("+79123456789", "Код: 123456")
    assert message_id
    [record] = [r for r in caplog.records if r.name == "sms"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == "SMS to +79123456789: Код: 123456"


def test_the_console_sender_can_log_elsewhere(caplog):
    caplog.set_level(logging.INFO)
    ConsoleSender(logging.getLogger("elsewhere")).send("+79123456789", "привет")
    assert [r.name for r in caplog.records] == ["elsewhere"]


def test_each_console_message_gets_its_own_id():
    sender = ConsoleSender()
    assert sender.send("+79123456789", "a") != sender.send("+79123456789", "a")


def test_both_senders_satisfy_the_sender_interface():
    assert isinstance(ConsoleSender(), SmsSender)
    assert isinstance(TwilioSender(**TWILIO), SmsSender)


def test_the_console_backend_needs_no_settings():
    assert isinstance(make_sender("console"), ConsoleSender)


def test_the_twilio_backend_is_built_from_its_settings():
    sender = make_sender("twilio", **TWILIO, api_base="http://127.0.0.1:9", timeout=3.0)
    assert isinstance(sender, TwilioSender)
    assert (sender.api_base, sender.timeout) == ("http://127.0.0.1:9", 3.0)


def test_the_twilio_backend_defaults_to_the_public_api():
    assert make_sender("twilio", **TWILIO, api_base="").api_base == "https://api.twilio.com"


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("account_sid", "TWILIO_ACCOUNT_SID"),
        ("auth_token", "TWILIO_AUTH_TOKEN"),
        ("from_number", "TWILIO_FROM_NUMBER"),
    ],
)
def test_a_missing_twilio_setting_is_named(missing, variable):
    settings = {**TWILIO, missing: ""}
    with pytest.raises(ValueError) as caught:
        make_sender("twilio", **settings)
    assert str(caught.value) == f"{variable} is required when BONUS_SMS_BACKEND=twilio"


def test_an_unknown_backend_is_named():
    with pytest.raises(ValueError, match="'carrier-pigeon'"):
        make_sender("carrier-pigeon")


@pytest.mark.parametrize("api_base", ["ftp://example.com", "127.0.0.1:8000", "http://"])
def test_an_api_base_that_is_not_an_http_url_is_refused(api_base):
    with pytest.raises(ValueError, match="TWILIO_API_BASE"):
        TwilioSender(**TWILIO, api_base=api_base)


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_a_timeout_must_be_positive(timeout):
    with pytest.raises(ValueError, match="timeout"):
        TwilioSender(**TWILIO, timeout=timeout)


def test_the_twilio_sender_never_shows_its_auth_token():
    sender = TwilioSender(**{**TWILIO, "auth_token": "s3cr3t-token"})
    assert "s3cr3t-token" not in repr(sender)
    shown = [value for name, value in vars(sender).items() if name != "_client"]
    assert "s3cr3t-token" not in repr(shown)
