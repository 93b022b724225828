"""Small verbs the page tests share: read a form's CSRF token, log in to the cabinet or console."""

from __future__ import annotations

import re

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import LoginThrottle
from bonus_service.services import operators
from bonus_service.services.operators import throttle_key

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_token(client, path: str = "/cabinet") -> str:
    """The token a page's forms carry for this client's session."""
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def failures(app, kind: str = "name", value: str = "anna") -> int:
    """The failures counted against a typed name (or a client address); 0 when none are."""
    with get_db(app).unit_of_work(write=False) as session:
        row = session.get(LoginThrottle, throttle_key(kind, value))
        return row.failures if row is not None else 0


def make_operator(app, name: str = "anna", password: str = PASSWORD, role: str = "operator") -> str:
    with get_db(app).unit_of_work() as session:
        operators.create(session, name, password, utcnow(), role=role)
        session.commit()
    return name


def console_login(client, name: str = "anna", password: str = PASSWORD):
    token = csrf_token(client, "/console/login")
    return client.post(
        "/console/login", data={"name": name, "password": password, "csrf_token": token}
    )


def cabinet_login(client, fake, phone: str):
    """Phone, then the code the fake Twilio received: the guest's two steps."""
    sent = client.post("/cabinet/code", data={"phone": phone, "csrf_token": csrf_token(client)})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    code = fake.last_code(phone)
    return client.post("/cabinet/verify", data={"code": code, "csrf_token": csrf_token(client)})


def text(response) -> str:
    return response.get_data(as_text=True)
