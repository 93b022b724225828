"""Too many failed console logins from one client address close the console to that address."""

from datetime import timedelta

import pytest
from freezegun import freeze_time

from bonus_service.clock import utcnow
from tests.support.pages import console_login, failures, make_operator, text


@pytest.fixture
def settings_overrides() -> dict:
    return {"cookie_secure": False, "console_failures_per_address": 3}


def test_too_many_failures_from_one_address_close_the_console_to_it(app, client):
    make_operator(app)
    answers = [console_login(client, name=f"guess{n}", password="wrong") for n in range(3)]
    assert [a.status_code for a in answers] == [422, 422, 429]
    assert "Слишком много неудачных попыток входа с этого адреса" in text(answers[2])
    locked = console_login(client)  # a real name and its password, from the same address
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 800
    assert failures(app, "name", "anna") == 0  # the address's lock, not the name's
    with freeze_time(utcnow() + timedelta(minutes=15, seconds=1)):
        assert console_login(client).status_code == 303


def test_a_right_password_does_not_count_as_a_failure_of_the_address(app, client):
    make_operator(app)
    console_login(client, name="boris", password="wrong")
    assert console_login(client).status_code == 303
    assert failures(app, "address", "127.0.0.1") == 1
    console_login(client, name="boris", password="wrong")
    locked = console_login(client, name="boris", password="wrong")
    assert locked.status_code == 429  # the third failure from the address, the success aside
