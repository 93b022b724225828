"""Every form POST carries the session's CSRF token; without it nothing happens."""

from sqlalchemy import select

from bonus_service.app import create_app
from bonus_service.app_db import get_db
from bonus_service.models import AuditEntry
from tests.support.pages import console_login, csrf_token, make_operator, text
from tests.support.phones import new_phone


def test_an_adjustment_posted_without_the_token_is_refused_and_changes_nothing(app, client, shop):
    phone, _ = shop.guest("100.00")
    make_operator(app)
    console_login(client)
    form = {"phone": phone, "seen": "1", "direction": "credit", "amount": "500", "reason": "x"}
    refused = client.post("/console/adjust", data=form)
    assert refused.status_code == 403
    assert refused.mimetype == "text/html"
    assert "Форма устарела" in text(refused)
    forged = client.post("/console/adjust", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 403
    with get_db(app).unit_of_work(write=False) as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.target == phone)))
    assert "guest.adjust" in actions and actions.count("guest.adjust") == 1  # the shop's own one


def test_a_login_without_the_token_is_refused_before_the_password_is_tried(app, client):
    make_operator(app)
    refused = client.post("/console/login", data={"name": "anna", "password": "wrong one"})
    assert refused.status_code == 403
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalar(select(AuditEntry.action)) is None


def test_a_code_request_without_the_token_sends_no_sms(client, fake_twilio):
    phone = new_phone()
    assert client.post("/cabinet/code", data={"phone": phone}).status_code == 403
    assert fake_twilio.messages_to(phone) == []


def test_the_token_of_one_session_does_not_open_another(app, client):
    make_operator(app)
    stolen = csrf_token(client, "/console/login")
    other = app.test_client()
    other.get("/console/login")
    form = {"name": "anna", "password": "anything", "csrf_token": stolen}
    assert other.post("/console/login", data=form).status_code == 403


def test_the_session_cookie_is_secure_http_only_and_same_site_lax_by_default(database_url):
    app = create_app({"database_url": database_url, "secret_key": "s", "scheduler_enabled": False})
    cookie = app.test_client().get("/console/login").headers["Set-Cookie"]
    assert "bonus_session=" in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    get_db(app).dispose()


def test_the_secure_flag_can_be_turned_off_for_plain_http_development(client):
    cookie = client.get("/console/login").headers["Set-Cookie"]
    assert "Secure" not in cookie and "HttpOnly" in cookie
