"""A code that lives under a minute (BONUS_CODE_TTL_SECONDS may be 30–59) is said to live one
minute: the registration's SMS said «действует 0 минут» where the login's said «1 минуту»."""

import pytest

from tests.support.http import ask_code, bearer
from tests.support.phones import new_phone


@pytest.fixture
def settings_overrides() -> dict:
    return {"code_ttl_seconds": 45}


def test_every_sms_says_a_short_lived_code_lives_one_minute(client, fake_twilio, make_key):
    guest = new_phone()
    ask_code(client, fake_twilio, guest)
    assert "Действует 1 минуту." in fake_twilio.messages_to(guest)[-1]["body"]
    registered = new_phone()
    answer = client.post("/v1/guests", json={"phone": registered},
                         headers=bearer(make_key("operator")))  # fmt: skip
    assert answer.status_code == 201, answer.get_json()
    assert "действует 1 минуту." in fake_twilio.messages_to(registered)[-1]["body"]
