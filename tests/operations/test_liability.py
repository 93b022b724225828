"""Liability: bonuses outstanding now, and what burns month by month if nothing changes."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from bonus_service.services.liability import liability
from scheduler.jobs import expire_balances
from tests.support.http import bearer, problem_fields
from tests.support.moments import msk

AS_OF = msk(2025, 3, 10, 12)


@pytest.fixture
def guests(make_guest) -> None:
    """Balances whose burn dates fall on both sides of every period boundary (kopecks)."""
    make_guest(msk(2024, 3, 5, 10), balance=10_000)  # burns 2025-03-06: due
    make_guest(msk(2024, 3, 20, 10), balance=5_000)  # burns 2025-03-21
    make_guest(msk(2024, 1, 1), balance=1_000, last_order_at=msk(2024, 3, 30, 23, 59))  # 03-31
    make_guest(msk(2024, 1, 1), balance=7_000, last_order_at=msk(2024, 3, 31, 23, 30))  # 04-01
    make_guest(msk(2024, 4, 15), balance=5_000, held=2_000)  # 3,000 burn 2025-04-16
    make_guest(msk(2024, 4, 15), balance=4_000, held=4_000)  # everything held: nothing burns
    make_guest(msk(2024, 4, 15))  # no bonuses at all
    make_guest(msk(2024, 5, 30, 9), balance=2_000)  # burns 2025-05-31
    make_guest(msk(2024, 5, 31, 9), balance=3_000)  # burns 2025-06-01: after three months


def test_outstanding_bonuses_count_every_guest_owning_any_and_what_open_orders_hold(
    guests, db, book
):
    with db.unit_of_work(write=False) as session:
        report = liability(session, book.in_force(AS_OF), AS_OF, months=3)

    assert (report.guests, report.balance, report.held, report.available) == (
        8, 37_000, 6_000, 31_000,
    )  # fmt: skip


def test_each_available_balance_burns_in_the_month_of_its_burns_at(guests, db, book):
    with db.unit_of_work(write=False) as session:
        report = liability(session, book.in_force(AS_OF), AS_OF, months=3)

    burns = [(b.period, b.guests, b.kopecks) for b in (report.due, *report.months, report.later)]
    assert burns == [
        ("due", 1, 10_000),
        ("2025-03", 2, 6_000),
        ("2025-04", 2, 10_000),
        ("2025-05", 1, 2_000),
        ("later", 1, 3_000),
    ]
    assert sum(b[2] for b in burns) == report.available


def test_what_is_due_and_what_burns_this_month_is_what_the_expiry_job_would_burn(guests, db, book):
    with db.unit_of_work(write=False) as session:
        report = liability(session, book.in_force(AS_OF), AS_OF, months=3)
    due_now = expire_balances(db, book, AS_OF, dry_run=True)
    by_month_end = expire_balances(db, book, msk(2025, 3, 31, 23, 59), dry_run=True)

    assert (due_now.guests, due_now.kopecks) == (report.due.guests, report.due.kopecks)
    march = report.months[0]
    assert (by_month_end.guests, by_month_end.kopecks) == (
        report.due.guests + march.guests,
        report.due.kopecks + march.kopecks,
    )


def test_the_cli_prints_the_outstanding_bonuses_and_the_burn_schedule(guests, bonus):
    result = bonus("liability", "--months", "3", "--as-of", "2025-03-10T12:00")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "as of 2025-03-10T12:00:00+03:00, rules 2024-01-01-default, months in Europe/Moscow",
        "outstanding: 370.00 bonuses of 8 guests (60.00 held by open orders, 310.00 available)",
        "burns if no guest orders again:",
        "  due                               1 guests         100.00",
        "  2025-03                           2 guests          60.00",
        "  2025-04                           2 guests         100.00",
        "  2025-05                           1 guests          20.00",
        "  later                             1 guests          30.00",
    ]


@pytest.mark.parametrize("moment", ["2020-01-01", "9999-12-01"])
def test_the_cli_refuses_a_moment_before_any_program_or_past_the_calendar(bonus, moment):
    result = bonus("liability", "--as-of", moment)

    assert result.exit_code == 2
    assert "Invalid value for" in result.output and "--as-of" in result.output


def report_url(**query: str) -> str:
    return "/v1/reports/liability?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())


def test_admins_read_the_report_over_http_with_amounts_as_strings(guests, client, make_key):
    response = client.get(
        report_url(months="3", as_of="2025-03-10T12:00:00+03:00"),
        headers=bearer(make_key("admin"), None),
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {k: body[k] for k in ("as_of", "rules_version", "guests", "balance", "held")} == {
        "as_of": "2025-03-10T12:00:00+03:00",
        "rules_version": "2024-01-01-default",
        "guests": 8,
        "balance": "370.00",
        "held": "60.00",
    }
    assert body["available"] == "310.00"
    assert body["due"] == {"period": "due", "starts_at": None, "ends_at": AS_OF.isoformat(),
                           "guests": 1, "amount": "100.00"}  # fmt: skip
    assert body["months"][1] == {"period": "2025-04", "starts_at": "2025-04-01T00:00:00+03:00",
                                 "ends_at": "2025-05-01T00:00:00+03:00", "guests": 2,
                                 "amount": "100.00"}  # fmt: skip
    assert [m["period"] for m in body["months"]] == ["2025-03", "2025-04", "2025-05"]
    assert body["later"]["amount"] == "30.00"


def test_the_report_defaults_to_now_and_twelve_months(client, make_key):
    response = client.get(report_url(), headers=bearer(make_key("admin"), None))

    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["months"]) == 12
    assert response.get_json()["balance"] == "0.00"


def test_the_report_is_for_admin_keys_only(client, make_key):
    assert client.get(report_url()).status_code == 401
    forbidden = client.get(report_url(), headers=bearer(make_key("operator", "checkout"), None))
    assert forbidden.status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"months": "0"}, "months"),
        ({"months": "121"}, "months"),
        ({"as_of": "2025-03-10T12:00:00"}, "as_of"),  # no offset: which midnight?
        ({"as_of": "yesterday"}, "as_of"),
        ({"as_of": "2020-01-01T00:00:00+03:00"}, "as_of"),  # before any program
        ({"as_of": "9999-12-31T23:59:59-23:59"}, "as_of"),  # past the calendar's end
        ({"as_of": "0001-01-01T00:00:00+23:59"}, "as_of"),
    ],
)
def test_a_bad_query_is_a_422_naming_the_parameter(client, make_key, query, field):
    response = client.get(report_url(**query), headers=bearer(make_key("admin"), None))

    assert response.status_code == 422
    assert any(name.endswith(field) for name in problem_fields(response)), response.get_json()
