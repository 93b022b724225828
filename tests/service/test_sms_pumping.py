"""SMS pumping: codes asked from many addresses of one network, or from everywhere at once,
are bounded by the per-network limit and by the hourly budget of every SMS."""

import dataclasses
import logging
import re

import pytest
from freezegun import freeze_time

from bonus_service.app import create_app
from bonus_service.app_db import get_db
from tests.support.http import bearer
from tests.support.phones import new_phone

START = "2026-03-01T10:00:00+00:00"


def ask(client, address: str, phone: str | None = None):
    return client.post("/v1/auth/sms-code", json={"phone": phone or new_phone()},
                       environ_base={"REMOTE_ADDR": address})  # fmt: skip


def sample(client, name: str, **labels) -> float:
    """One sample of GET /metrics (0 when absent)."""
    text = client.get("/metrics").get_data(as_text=True)
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{name}{{{wanted}}} (\S+)$" if labels else rf"^{name} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_twenty_five_addresses_of_one_ipv6_48_are_stopped_by_the_network_limit(client, fake_twilio):
    """With the defaults: each of 25 /64s asks for 5 codes, well under its 20 an hour; the
    /48 gets 100 (it used to get all 125, and up to 25 × 20)."""
    answers = [ask(client, f"2001:db8:7:{n:x}::1") for _ in range(5) for n in range(1, 26)]
    assert [a.status_code for a in answers] == [202] * 100 + [429] * 25
    assert {a.get_json()["limit"] for a in answers[100:]} == {"network_hour"}
    assert 3500 < int(answers[100].headers["Retry-After"]) <= 3600
    assert len(fake_twilio.messages) == 100
    assert ask(client, "2001:db8:8:1::1").status_code == 202  # the next /48 has its own


@pytest.mark.parametrize("settings_overrides", [{"sms_per_address_hour": 1}])
def test_two_addresses_in_one_ipv6_64_count_as_one(client, fake_twilio, settings_overrides):
    assert ask(client, "2001:db8:7:2::1").status_code == 202
    second = ask(client, "2001:db8:7:2:ffff:ffff:ffff:ffff")
    assert second.status_code == 429 and second.get_json()["limit"] == "address_hour"
    assert ask(client, "2001:db8:7:3::1").status_code == 202


@pytest.mark.parametrize("settings_overrides", [{"sms_per_network_hour": 3}])
def test_an_ipv4_24_has_a_limit_of_its_own(client, fake_twilio, settings_overrides):
    assert [ask(client, f"198.51.100.{n}").status_code for n in (1, 2, 3, 4)] == [202] * 3 + [429]
    assert ask(client, "198.51.101.1").status_code == 202


@pytest.mark.parametrize("settings_overrides", [{"sms_per_hour": 3}])
def test_past_the_hourly_budget_new_codes_are_503_with_retry_after_a_log_line_and_a_metric(
    app, client, fake_twilio, make_key, caplog, settings_overrides
):
    before = sample(client, "bonus_sms_budget_exhausted_total", purpose="login")
    with freeze_time(START) as clock:
        for n in range(3):  # three networks, three phones: no other limit is near
            assert ask(client, f"203.0.{n}.1").status_code == 202
            clock.tick(600)
        caplog.set_level(logging.WARNING, logger="bonus.sms")
        refused = ask(client, "192.0.2.1")
        operator = make_key("operator")
        registration = client.post("/v1/guests", json={"phone": new_phone()},
                                   headers=bearer(operator))  # fmt: skip
    assert refused.status_code == 503
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["limit"] == "sms_budget"
    assert refused.headers["Retry-After"] == "1800"  # when the first of the three is an hour old
    assert registration.status_code == 503  # an operator's code costs the same
    assert len(fake_twilio.messages) == 3
    assert "SMS budget spent" in caplog.text and "login" in caplog.text
    assert sample(client, "bonus_sms_budget_exhausted_total", purpose="login") == before + 1
    assert sample(client, "bonus_sms_hourly_budget") == 3
    with freeze_time(START) as clock:
        clock.tick(1800)
        assert sample(client, "bonus_sms_sent_last_hour") == 3


@pytest.mark.parametrize("settings_overrides", [{"sms_per_hour": 2}])
def test_the_budget_is_counted_in_the_database_so_it_holds_across_instances(
    app, client, fake_twilio, settings_overrides
):
    settings = dataclasses.asdict(app.extensions["bonus_settings"])
    other = create_app(settings)  # another worker or machine on the same database
    try:
        assert ask(client, "203.0.113.1").status_code == 202
        assert ask(other.test_client(), "203.0.114.1").status_code == 202
        assert ask(client, "203.0.115.1").status_code == 503
        assert ask(other.test_client(), "203.0.116.1").status_code == 503
    finally:
        get_db(other).dispose()


@pytest.mark.parametrize("settings_overrides", [{"sms_per_hour": 1}])
def test_the_cabinet_says_when_codes_go_again_once_the_budget_is_spent(
    client, fake_twilio, settings_overrides
):
    from tests.support.pages import csrf_token

    with freeze_time(START) as clock:
        assert ask(client, "203.0.113.1").status_code == 202
        clock.tick(600)
        form = {"phone": new_phone(), "csrf_token": csrf_token(client)}
        page = client.post("/cabinet/code", data=form)
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "3000"
    said = "СМС сейчас не отправляются. Попробуйте через 50\xa0минут."
    assert said in page.get_data(as_text=True)
