"""Fixtures for the sms package tests: a fake Twilio and a sender pointed at it."""

import pytest

from sms import TwilioSender
from tests.fake_twilio import FakeTwilio


@pytest.fixture
def fake_twilio():
    with FakeTwilio(hang_seconds=10) as fake:
        yield fake


@pytest.fixture
def twilio_sender(fake_twilio):
    return TwilioSender(
        fake_twilio.account_sid,
        fake_twilio.auth_token,
        fake_twilio.from_number,
        api_base=fake_twilio.base_url,
        timeout=2.0,
    )
