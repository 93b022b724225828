"""The books in pictures: the ledger's months cut at BONUS_TIMEZONE's midnights, the tables
matching the ledger entry by entry, the burn forecast, the charts, and who may open them."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bonus_service import ledger
from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import Guest, LedgerEntry
from bonus_service.services import books
from bonus_service.web import wording
from tests.support.pages import console_login, make_operator, text
from tests.support.shop import order_id, pickup

ROW = re.compile(
    r'<tr data-month="([0-9-]+)"><th scope="row">[^<]*</th><td>([^<]*)</td>'
    r"<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>"
)


def logged_in(app, name: str, role: str):
    make_operator(app, name, role=role)
    browser = app.test_client()
    assert console_login(browser, name).status_code == 303
    return browser


def guest_id(app, phone: str) -> int:
    with get_db(app).unit_of_work(write=False) as session:
        return session.scalar(select(Guest.id).where(Guest.phone == phone))


def test_months_are_cut_at_local_midnight_and_close_on_their_movements(app, shop):
    phone, _ = shop.guest()
    guest = guest_id(app, phone)
    moscow = app.extensions["bonus_settings"].tz
    moves = [
        ("accrual", 2000, datetime(2026, 10, 31, 20, 30, tzinfo=UTC)),  # 23:30 on 31.10
        ("accrual", 1000, datetime(2026, 10, 31, 21, 30, tzinfo=UTC)),  # 00:30 on 01.11
        ("expiry", 500, datetime(2026, 11, 15, 12, 0, tzinfo=UTC)),
        ("adjustment", -300, datetime(2026, 11, 30, 20, 59, tzinfo=UTC)),  # 23:59 on 30.11
        ("accrual", 700, datetime(2026, 11, 30, 21, 0, tzinfo=UTC)),
    ]  # 00:00 on 01.12
    with get_db(app).unit_of_work() as session:
        for kind, amount, at in moves:
            assert ledger.move(session, guest, kind, amount, actor="test", reason="книги",
                               now=at) is not None  # fmt: skip
        session.commit()
    with get_db(app).unit_of_work(write=False) as session:
        months = books.monthly(session, datetime(2026, 12, 7, 9, tzinfo=UTC), moscow, 3)
    assert [m.label for m in months] == ["2026-10", "2026-11", "2026-12"]
    oct_, nov, dec = months
    assert (oct_.opening, oct_.accrued, oct_.closing) == (0, 2000, 2000)
    assert (nov.opening, nov.accrued, nov.burned, nov.other, nov.closing) == (
        2000, 1000, 500, -300, 2200)  # fmt: skip
    assert (dec.opening, dec.accrued) == (2200, 700)
    # the real clock's movements (none for this guest today) land in today's month, if shown
    assert dec.closing == 2900 or dec.starts_at.month != utcnow().astimezone(moscow).month


def independent_months(app) -> dict[str, dict[str, int]]:
    """The ledger read entry by entry, bucketed by local month here (not by the service)."""
    zone = app.extensions["bonus_settings"].tz
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with get_db(app).unit_of_work(write=False) as session:
        for entry in session.scalars(select(LedgerEntry)):
            month = entry.created_at.astimezone(zone).strftime("%Y-%m")
            found[month][entry.kind] += entry.amount
    return found


def test_the_books_tables_say_what_the_ledger_holds(app, shop):
    phone, token = shop.guest("300")
    oid = order_id()
    assert shop.place(phone, pickup("1000.00"), oid=oid).status_code == 201
    assert shop.complete(oid).status_code == 200  # +100 accrued
    spent = order_id()
    assert shop.place(phone, pickup("400.00"), redeem="50", token=token,
                      oid=spent).status_code == 201  # fmt: skip
    assert shop.complete(spent).status_code == 200  # 50 spent, 12 accrued
    other, _ = shop.guest("20")
    supervisor = logged_in(app, "sveta", "supervisor")
    page = text(supervisor.get("/console/books"))
    rows = {m: cells for m, *cells in ROW.findall(page)}
    assert len(rows) == 12
    by_kind = independent_months(app)
    month = utcnow().astimezone(app.extensions["bonus_settings"].tz).strftime("%Y-%m")
    kinds = by_kind[month]
    with get_db(app).unit_of_work(write=False) as session:
        owed = session.scalar(select(func.sum(Guest.balance)))
    expected = [wording.roubles(kinds["accrual"]),
                wording.roubles(-kinds["spend"] - kinds["refund"]),
                wording.roubles(-kinds["expiry"]),
                wording.signed(kinds["adjustment"] + kinds["reversal"]),
                wording.roubles(owed)]  # fmt: skip
    assert [html.unescape(c) for c in rows[month]] == expected
    assert expected[:2] == ["112\u00a0₽", "50\u00a0₽"] and owed == 38200
    assert 'data-testid="outstanding">382 бонуса<' in page
    # the burn forecast: 13 rows (due, then 12 months), all of the available balance
    # burning no earlier than 12 idle months from today: nothing inside the window
    burns = re.findall(r'<tr data-period="([^"]+)"><th scope="row">[^<]*</th><td>(\d+)</td>'
                       r"<td>([^<]*)</td></tr>", page)  # fmt: skip
    assert [p for p, *_ in burns][:2] == ["due", month] and len(burns) == 13
    assert {html.unescape(k) for _, _, k in burns} == {"0\u00a0₽"}
    assert "Позже чем через 12 месяцев сгорит 382\u00a0₽" in html.unescape(page)
    assert phone not in page and other not in page  # no guest is named on the books


@pytest.mark.parametrize("role", ["marketing", "supervisor"])
def test_marketing_and_supervisors_see_the_charts_with_their_names(app, role):
    person = logged_in(app, "mila", role)
    page = text(person.get("/console/books"))
    assert page.count('<img src="/console/charts/books/') == 3
    assert page.count("<caption>") == 2 and 'th scope="col"' in page
    for name in ("outstanding", "movements", "burns"):
        chart = person.get(f"/console/charts/books/{name}.svg")
        assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
        assert '<svg role="img" aria-label="' in text(chart)
        assert "<script" not in text(chart)
    assert person.get("/console/charts/books/nope.svg").status_code == 404


def test_an_operator_is_refused_the_books(app):
    anna = logged_in(app, "anna", "operator")
    assert anna.get("/console/books").status_code == 403
    assert anna.get("/console/charts/books/outstanding.svg").status_code == 403
    assert app.test_client().get("/console/charts/books/burns.svg").status_code == 303
