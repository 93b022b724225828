"""Odd input on the pages gets a page, never a 500: found by an audit of the pages and the CLI."""

import pytest

from tests.service.helpers import bearer, login, new_phone
from tests.web.pages import cabinet_login, console_login, make_operator, text

HUGE = ["99999999999999999999999", "9223372036854775808", "2147483648", "-99999999999999999999999"]


@pytest.mark.parametrize("before", HUGE)
def test_a_page_number_past_any_id_is_a_page_not_a_500(app, client, fake_twilio, before):
    """`before` beyond what the id column holds (PostgreSQL: integer out of range; SQLite:
    too large to convert) is a page: the first one, or an empty one below zero."""
    cabinet_login(client, fake_twilio, new_phone())
    assert client.get(f"/cabinet?before={before}").status_code == 200
    client.post("/cabinet/logout", data={"csrf_token": ""})
    make_operator(app)
    console_login(client)
    phone = new_phone()
    login(client, fake_twilio, phone)
    assert client.get(f"/console/audit?before={before}").status_code == 200
    answer = client.get(f"/console/guest?phone={phone}&before={before}")
    assert answer.status_code == 200, text(answer)[:300]


def test_the_api_refuses_a_page_number_past_any_id_by_name(client, fake_twilio):
    token = login(client, fake_twilio, new_phone())
    answer = client.get(f"/v1/me/history?before={HUGE[0]}", headers=bearer(token, None))
    assert answer.status_code == 422
    assert {e["field"] for e in answer.get_json()["errors"]} == {"query.before"}
