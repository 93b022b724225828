"""Odd input on the pages gets a page, never a 500: found by an audit of the pages and the CLI."""

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import AuditEntry
from tests.support.http import bearer, login
from tests.support.pages import cabinet_login, console_login, csrf_token, make_operator, text
from tests.support.phones import new_phone

HUGE = ["99999999999999999999999", "9223372036854775808", "2147483648", "-99999999999999999999999"]


@pytest.mark.parametrize("before", HUGE)
def test_a_page_number_past_any_id_is_a_page_not_a_500(app, client, fake_twilio, before):
    """`before` beyond what the id column holds (PostgreSQL: integer out of range; SQLite:
    too large to convert) is a page: the first one, or an empty one below zero."""
    cabinet_login(client, fake_twilio, new_phone())
    assert client.get(f"/cabinet?before={before}").status_code == 200
    client.post("/cabinet/logout", data={"csrf_token": ""})
    make_operator(app, role="supervisor")
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


def test_a_nul_in_a_form_is_a_russian_page_not_a_500(app, client):
    """PostgreSQL refuses NUL in text: the console's login and adjustment forms gave 500."""
    make_operator(app)
    token = csrf_token(client, "/console/login")
    form = {"name": "anna\x00", "password": "x", "csrf_token": token}
    answer = client.post("/console/login", data=form)
    assert answer.status_code == 400
    assert answer.mimetype == "text/html"
    assert "символы, которые нельзя сохранить" in text(answer)
    console_login(client)
    form = {"phone": new_phone(), "seen": "0", "direction": "credit", "amount": "10",
            "reason": "with NUL\x00here", "csrf_token": csrf_token(client, "/console")}  # fmt: skip
    assert client.post("/console/adjust", data=form).status_code == 400
    assert client.get("/console/guest?phone=%00").status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/cabinet", "GET"),
        ("PUT", "/cabinet", None),
        ("DELETE", "/console/audit", None),
        ("POST", "/rules", None),
        ("GET", "/cabinet/verify", "POST"),
        ("GET", "/console/logout", "POST"),
    ],
)
def test_a_wrong_method_on_a_page_is_a_russian_405_page(client, method, path, allowed):
    answer = client.open(path, method=method)
    assert answer.status_code == 405
    assert answer.mimetype == "text/html"
    assert "Действие недоступно" in text(answer)
    if allowed:
        assert allowed in answer.headers["Allow"]


def test_a_wrong_method_on_the_api_is_still_problem_json(client):
    answer = client.delete("/v1/quote")
    assert (answer.status_code, answer.mimetype) == (405, "application/problem+json")
    assert client.get("/cabinet/nowhere").status_code == 404


def test_registering_a_phone_texted_a_moment_ago_is_429_with_retry_after(app, client, fake_twilio):
    make_operator(app)
    console_login(client)
    phone = new_phone()
    assert client.post("/cabinet/code",
                       data={"phone": phone, "csrf_token": csrf_token(client)}).status_code == 303
    form = {"phone": phone, "csrf_token": csrf_token(client, "/console")}
    answer = client.post("/console/guests", data=form)
    assert answer.status_code == 429
    assert "Повторите через" in text(answer)
    assert 1 <= int(answer.headers["Retry-After"]) <= 60


def test_a_refused_login_of_a_disabled_operator_is_audited(app, client, runner):
    make_operator(app, "gone")
    assert runner.invoke(args=["bonus", "disable-operator", "gone"]).exit_code == 0
    assert console_login(client, "gone").status_code == 422  # the same answer as any name
    with get_db(app).unit_of_work(write=False) as session:
        refused = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "operator.login_refused")
        ).all()
    assert [(e.actor, e.details["why"]) for e in refused] == [("operator:gone", "account disabled")]


def test_the_audit_view_says_its_details_in_russian_and_in_roubles(app, client, shop):
    shop.zone("east", "300.00", "Восток")
    shop.zone("east", "350.50", "Восток")
    make_operator(app, role="supervisor")
    console_login(client, "anna", "wrong password")
    console_login(client)
    page = text(client.get("/console/audit"))
    assert ("было: название Восток, минимальный заказ 300\u00a0₽; "
            "стало: название Восток, минимальный заказ 350,50\u00a0₽") in page  # not 30000
    assert "почему: неверный пароль" in page
    assert "min_order" not in page and "why" not in page


def test_a_code_in_full_width_digits_logs_in_and_other_digits_spend_no_try(client, fake_twilio):
    phone = new_phone()
    sent = client.post("/cabinet/code", data={"phone": phone, "csrf_token": csrf_token(client)})
    assert sent.status_code == 303
    code = fake_twilio.last_code(phone)
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in code)  # digits, but not ours
    form = {"code": arabic_indic, "csrf_token": csrf_token(client)}
    refused = client.post("/cabinet/verify", data=form)
    assert refused.status_code == 422 and "Введите 6 цифр из СМС." in text(refused)
    assert "Осталось попыток" not in text(refused)
    full_width = "".join(chr(0xFF10 + int(d)) for d in code)
    form = {"code": full_width, "csrf_token": csrf_token(client)}
    verified = client.post("/cabinet/verify", data=form)
    assert verified.status_code == 303


@pytest.mark.parametrize(("site", "status"),
                         [("cross-site", 403), ("same-site", 403), ("same-origin", 200),
                          ("none", 200), (None, 200)])  # fmt: skip
def test_a_lookup_another_site_opened_writes_no_audit_entry(app, client, fake_twilio, site, status):
    """SameSite=Lax sends the console cookie on another site's link: the audited lookup it
    opened would have said the operator looked the guest up."""
    make_operator(app)
    console_login(client)
    phone = new_phone()
    login(client, fake_twilio, phone)
    headers = {"Sec-Fetch-Site": site} if site else {}
    answer = client.get(f"/console/guest?phone={phone}", headers=headers)
    assert answer.status_code == status
    with get_db(app).unit_of_work(write=False) as session:
        lookups = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "guest.lookup")
        ).all()
    assert len(lookups) == (1 if status == 200 else 0)
    if status == 403:
        assert "открывается только из консоли" in text(answer)


def test_logging_in_again_ends_the_session_it_replaces(app, client):
    make_operator(app, role="supervisor")
    console_login(client)
    first = client.get_cookie("bonus_session").value
    console_login(client)  # the login page again, in the same browser
    copy = app.test_client()
    copy.set_cookie("bonus_session", first)
    answer = copy.get("/console/audit")
    assert answer.status_code == 303 and "/console/login" in answer.headers["Location"]
    assert client.get("/console/audit").status_code == 200  # the new session works


def test_a_guest_logging_in_again_revokes_the_token_it_replaces(app, client, fake_twilio):
    phone = new_phone()
    cabinet_login(client, fake_twilio, phone)
    first = client.get_cookie("bonus_session").value
    with freeze_time(utcnow() + timedelta(minutes=2)):  # past the resend wait (and the
        cabinet_login(client, fake_twilio, phone)  # cookies' signatures are from then)
        copy = app.test_client()
        copy.set_cookie("bonus_session", first)
        assert "<h1>Мои бонусы</h1>" not in text(copy.get("/cabinet"))  # the phone form
        assert "<h1>Мои бонусы</h1>" in text(client.get("/cabinet"))
