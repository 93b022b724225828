"""Fixtures for the sms package tests: a sender pointed at the fake Twilio (tests/conftest.py)."""

import pytest

from sms import TwilioSender


@pytest.fixture
def twilio_sender(fake_twilio):
    return TwilioSender(
        fake_twilio.account_sid,
        fake_twilio.auth_token,
        fake_twilio.from_number,
        api_base=fake_twilio.base_url,
        timeout=2.0,
    )
