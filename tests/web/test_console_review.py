"""The console's side of four eyes: a large credit waits, another supervisor decides it on the
review page, the audit view is the supervisors' (and opening it is recorded), marketing touches
no guest."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.models import Adjustment, AuditEntry
from tests.support.pages import console_login, csrf_token, make_operator, text

SEEN = re.compile(r'name="seen" value="(\d+)"')


def logged_in(app, name: str, role: str):
    """A browser of its own, logged in to the console as a new account of `role`."""
    make_operator(app, name, role=role)
    browser = app.test_client()
    assert console_login(browser, name).status_code == 303
    return browser


def credit(browser, phone: str, amount: str, reason: str = "компенсация"):
    """The card's adjustment form, filled and sent as the page gave it."""
    card = text(browser.get("/console/guest", query_string={"phone": phone}))
    data = {"phone": phone, "seen": SEEN.search(card).group(1), "direction": "credit",
            "amount": amount, "reason": reason, "csrf_token": csrf_token(browser, "/console")}
    return browser.post("/console/adjust", data=data)


def post(browser, path: str, **form):
    return browser.post(path, data={"csrf_token": csrf_token(browser, "/console"), **form})


def actions(app, action: str) -> list[AuditEntry]:
    with get_db(app).unit_of_work(write=False) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def held(app) -> list[Adjustment]:
    with get_db(app).unit_of_work(write=False) as session:
        return list(session.scalars(select(Adjustment).where(Adjustment.status == "pending")))


def test_a_console_credit_of_ten_million_waits_for_a_second_person(app, shop):
    phone, token = shop.guest()
    anna = logged_in(app, "anna", "operator")
    sent = credit(anna, phone, "10 000 000", "жалоба гостя")
    assert sent.status_code == 303
    page = text(anna.get(sent.location))
    assert "ждёт проверки" in page and 'data-testid="balance">0 бонусов' in page
    assert 'data-testid="pending"' in page and "жалоба гостя" in page
    assert shop.me(token)["balance"] == "0.00"
    [request] = held(app)
    assert (request.amount, request.requested_by, request.requested_via) == (
        1_000_000_000, "anna", "operator:anna")  # fmt: skip
    assert [a.actor for a in actions(app, "adjustment.request")] == ["operator:anna"]


def test_a_held_credit_sent_twice_is_asked_for_once(app, shop):
    phone, _ = shop.guest()
    anna = logged_in(app, "anna", "operator")
    card = text(anna.get("/console/guest", query_string={"phone": phone}))
    data = {"phone": phone, "seen": SEEN.search(card).group(1), "direction": "credit",
            "amount": "2000", "reason": "компенсация", "csrf_token": csrf_token(anna, "/console")}
    assert anna.post("/console/adjust", data=data).status_code == 303
    assert anna.post("/console/adjust", data=data).status_code == 409
    assert len(held(app)) == 1


def test_another_supervisor_approves_it_on_the_review_page_once(app, shop):
    phone, token = shop.guest()
    anna = logged_in(app, "anna", "operator")
    credit(anna, phone, "3000")
    [request] = held(app)
    sveta = logged_in(app, "sveta", "supervisor")
    queue = text(sveta.get("/console/review"))
    assert f"№{request.id}" in queue and "больше порога проверки" in queue
    approved = post(sveta, f"/console/review/{request.id}/approve")
    assert approved.status_code == 303
    assert f"Заявка №{request.id} одобрена" in text(sveta.get(approved.location))
    assert shop.me(token)["balance"] == "3000.00"
    again = post(sveta, f"/console/review/{request.id}/approve")
    assert again.status_code == 409 and "уже проведена" in text(again)
    assert shop.me(token)["balance"] == "3000.00"
    [approval] = actions(app, "adjustment.approve")
    assert (approval.actor, approval.details["requested_by"]) == ("operator:sveta", "anna")


def test_a_supervisor_cannot_decide_their_own_credit(app, shop):
    phone, token = shop.guest()
    sveta = logged_in(app, "sveta", "supervisor")
    credit(sveta, phone, "3000")
    [request] = held(app)
    queue = text(sveta.get("/console/review"))
    assert "Ваша заявка" in queue and f"/console/review/{request.id}/approve" not in queue
    refused = post(sveta, f"/console/review/{request.id}/approve")
    assert refused.status_code == 403
    assert "Свою заявку одобряет или отклоняет другой старший смены." in text(refused)
    assert shop.me(token)["balance"] == "0.00"


def test_a_supervisor_rejects_with_a_reason(app, shop):
    phone, token = shop.guest()
    credit(logged_in(app, "anna", "operator"), phone, "3000")
    [request] = held(app)
    sveta = logged_in(app, "sveta", "supervisor")
    blank = post(sveta, f"/console/review/{request.id}/reject", reason=" ")
    assert blank.status_code == 422 and "Укажите причину" in text(blank)
    rejected = post(sveta, f"/console/review/{request.id}/reject", reason="нет чека")
    assert rejected.status_code == 303 and held(app) == []
    late = post(sveta, f"/console/review/{request.id}/approve")
    assert late.status_code == 409 and "уже отклонена" in text(late)
    assert shop.me(token)["balance"] == "0.00"
    assert [a.details["reason"] for a in actions(app, "adjustment.reject")] == ["нет чека"]


def test_the_review_page_and_its_buttons_are_the_supervisors(app, shop):
    phone, _ = shop.guest()
    anna = logged_in(app, "anna", "operator")
    credit(anna, phone, "3000")
    [request] = held(app)
    assert anna.get("/console/review").status_code == 403
    assert post(anna, f"/console/review/{request.id}/approve").status_code == 403
    assert len(held(app)) == 1


def test_the_audit_view_is_refused_to_a_plain_operator(app):
    anna = logged_in(app, "anna", "operator")
    refused = anna.get("/console/audit")
    assert refused.status_code == 403
    assert "недоступна вашей роли («оператор»)" in text(refused)
    assert "Журнал" not in text(anna.get("/console"))
    assert actions(app, "audit.view") == []
    [refusal] = actions(app, "console.refused")
    assert (refusal.actor, refusal.details["page"]) == ("operator:anna", "/console/audit")


def test_opening_the_audit_view_is_itself_audited(app):
    sveta = logged_in(app, "sveta", "supervisor")
    page = sveta.get("/console/audit")
    assert page.status_code == 200 and "Просмотр журнала" in text(page)
    sveta.get("/console/audit?before=1")
    assert [(a.actor, a.details) for a in actions(app, "audit.view")] == [
        ("operator:sveta", {"older_than": None}), ("operator:sveta", {"older_than": 1})]


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("GET", "/console/guest?phone=%2B79120000001", None),
        ("POST", "/console/adjust", {"direction": "credit", "amount": "5", "reason": "x"}),
        ("POST", "/console/guests", {}),
        ("GET", "/console/review", None),
        ("GET", "/console/audit", None),
    ],
)
def test_marketing_logs_in_but_reaches_no_guest_nor_adjustment(app, shop, method, path, form):
    phone, token = shop.guest("10")
    mila = logged_in(app, "mila", "marketing")
    home = text(mila.get("/console"))
    assert 'data-testid="marketing-home"' in home and "Поиск гостя" not in home
    if method == "GET":
        refused = mila.get(path)
    else:
        refused = post(mila, path, phone=phone, seen="0", **form)
    assert refused.status_code == 403
    assert "недоступна вашей роли («маркетинг»)" in text(refused)
    assert shop.me(token)["balance"] == "10.00"
    assert actions(app, "guest.lookup") == [] and actions(app, "guest.adjust")[1:] == []
