"""The nightly expiry: who burns, when, by how much, and what the ledger says about it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from bonus_service.models import LedgerEntry
from bonus_service.services import accounts
from bonus_service.services.reasons import reason
from rules.money import money
from scheduler.expiry import ACTOR, reason_sql
from scheduler.jobs import expire_balances
from tests.support.books import a_book
from tests.support.guests import fetch
from tests.support.ledger_checks import assert_ledger_reconciles, expiry_entries
from tests.support.moments import MOSCOW

BERLIN = ZoneInfo("Europe/Berlin")
LAST_ORDER = datetime(2024, 3, 15, 14, 0, tzinfo=MOSCOW)
NIGHT = timedelta(hours=3)  # the job runs at 03:00


def at_night(day: datetime) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=MOSCOW) + NIGHT


def test_twelve_months_less_a_day_after_the_last_order_the_balance_is_kept(db, book, make_guest):
    guest = make_guest(
        datetime(2023, 1, 10, tzinfo=MOSCOW), balance=12_000, last_order_at=LAST_ORDER
    )
    report = expire_balances(db, book, at_night(datetime(2025, 3, 14)))
    assert (report.guests, report.kopecks) == (0, 0)
    assert fetch(db, guest.id).balance == 12_000


def test_twelve_months_and_a_day_after_the_last_order_the_balance_burns(db, book, make_guest):
    guest = make_guest(
        datetime(2023, 1, 10, tzinfo=MOSCOW), balance=12_000, last_order_at=LAST_ORDER
    )
    report = expire_balances(db, book, at_night(datetime(2025, 3, 16)))
    assert (report.guests, report.kopecks, report.bonuses) == (1, 12_000, Decimal("120.00"))
    assert fetch(db, guest.id).balance == 0
    [entry] = expiry_entries(db, guest.id)
    assert (entry.amount, entry.held_delta, entry.balance_after) == (-12_000, 0, 0)
    assert (entry.actor, entry.rules_version) == (ACTOR, "2024-01-01-default")
    assert entry.reason == "Сгорело 120 бонусов: 12 месяцев не было заказов"
    assert entry.order_id is None
    assert_ledger_reconciles(db)


def test_an_order_at_eleven_months_moves_the_burn_date(db, book, make_guest):
    eleven_months_later = datetime(2025, 2, 15, 19, 0, tzinfo=MOSCOW)
    guest = make_guest(
        datetime(2023, 1, 10, tzinfo=MOSCOW), balance=12_000, last_order_at=eleven_months_later
    )
    assert expire_balances(db, book, at_night(datetime(2025, 3, 16))).guests == 0
    assert expire_balances(db, book, at_night(datetime(2026, 2, 15))).guests == 0
    assert expire_balances(db, book, at_night(datetime(2026, 2, 16))).guests == 1
    assert fetch(db, guest.id).balance == 0


def test_a_guest_who_never_ordered_is_idle_from_registration(db, book, make_guest):
    guest = make_guest(datetime(2024, 6, 1, 10, 0, tzinfo=MOSCOW), balance=12_000)
    assert expire_balances(db, book, at_night(datetime(2025, 6, 1))).guests == 0
    assert expire_balances(db, book, at_night(datetime(2025, 6, 2))).guests == 1
    assert fetch(db, guest.id).balance == 0


def test_an_order_on_29_february_burns_on_1_march_next_year(db, book, make_guest):
    leap_day = datetime(2024, 2, 29, 20, 0, tzinfo=MOSCOW)
    guest = make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), last_order_at=leap_day, balance=12_000)
    assert accounts.burn_date(guest, book, leap_day) == datetime(2025, 3, 1, tzinfo=MOSCOW)
    assert expire_balances(db, book, at_night(datetime(2025, 2, 28))).guests == 0
    assert expire_balances(db, book, at_night(datetime(2025, 3, 1))).guests == 1


def test_the_day_of_the_last_order_is_the_day_in_the_programs_time_zone(db, book, make_guest):
    # 23:30 on 15 March in Berlin is already 16 March in Moscow
    late = datetime(2024, 3, 15, 23, 30, tzinfo=BERLIN)
    guest = make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), last_order_at=late, balance=12_000)
    berlin = a_book(book.in_force(late), timezone="Europe/Berlin")
    noon_16_march = datetime(2025, 3, 16, 12, 0, tzinfo=UTC)
    assert expire_balances(db, book, noon_16_march).guests == 0  # Moscow: burns on 17 March
    assert expire_balances(db, berlin, noon_16_march).guests == 1  # Berlin: burned on 16 March
    assert fetch(db, guest.id).balance == 0


def test_the_program_in_force_at_the_run_decides_the_idle_months(db, book, make_guest):
    guest = make_guest(
        datetime(2023, 1, 10, tzinfo=MOSCOW), balance=12_000, last_order_at=LAST_ORDER
    )
    six_months = a_book(book.in_force(LAST_ORDER), idle_months=6)
    report = expire_balances(db, six_months, at_night(datetime(2024, 9, 16)))
    assert report.guests == 1
    [entry] = expiry_entries(db, guest.id)
    assert entry.reason == "Сгорело 120 бонусов: 6 месяцев не было заказов"


@pytest.mark.parametrize("kopecks", [100, 200, 500, 1_100, 2_100, 1_250, 50, 10_105, 1])
def test_the_reason_says_the_burned_amount_in_russian(db, book, make_guest, kopecks):
    guest = make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=kopecks)
    expire_balances(db, book, at_night(datetime(2025, 3, 16)))
    [entry] = expiry_entries(db, guest.id)
    assert entry.reason == reason("expiry", None, money(kopecks), months=12)


def test_the_sql_reason_matches_the_python_reason_for_any_amount(db):
    amounts = [*range(1, 2_500, 3), *range(100, 150_000, 300), 1_100, 11_100, 2_000_001]
    fragment, params = reason_sql("CAST(:k AS BIGINT)", 12)
    query = text(f"SELECT {fragment}")
    with db.unit_of_work(write=False) as session:
        for kopecks in amounts:
            shown = session.execute(query, {"k": kopecks, **params}).scalar_one()
            assert shown == reason("expiry", None, money(kopecks), months=12), kopecks


def test_running_the_job_twice_writes_one_entry_per_guest(db, book, make_guest):
    guests = [make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=100 * n) for n in (1, 2, 3)]
    night = at_night(datetime(2025, 3, 16))
    first = expire_balances(db, book, night, batch_size=2)
    second = expire_balances(db, book, night, batch_size=2)
    assert (first.guests, first.kopecks) == (3, 600)
    assert (second.guests, second.kopecks) == (0, 0)
    assert [e.guest_id for e in expiry_entries(db)] == [g.id for g in guests]
    assert_ledger_reconciles(db)


def test_held_bonuses_stay_with_the_open_order(db, book, make_guest):
    guest = make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=10_000, held=3_000)
    report = expire_balances(db, book, at_night(datetime(2025, 3, 16)))
    assert report.kopecks == 7_000
    after = fetch(db, guest.id)
    assert (after.balance, after.held) == (3_000, 3_000)
    [entry] = expiry_entries(db, guest.id)
    assert (entry.amount, entry.balance_after) == (-7_000, 3_000)
    assert_ledger_reconciles(db)


def test_a_guest_whose_bonuses_are_all_held_is_left_alone(db, book, make_guest):
    make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=3_000, held=3_000)
    assert expire_balances(db, book, at_night(datetime(2025, 3, 16))).guests == 0
    assert expiry_entries(db) == []


def test_a_dry_run_counts_what_would_burn_and_writes_nothing(db, book, make_guest):
    make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=10_000, held=2_500)
    make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=5_000)
    make_guest(datetime(2025, 1, 10, tzinfo=MOSCOW), balance=5_000)  # not idle yet
    night = at_night(datetime(2025, 3, 16))
    report = expire_balances(db, book, night, dry_run=True)
    assert (report.guests, report.kopecks, report.dry_run) == (2, 12_500, True)
    assert expiry_entries(db) == []
    assert expire_balances(db, book, night).kopecks == 12_500


def test_a_crash_after_the_first_batch_keeps_it_and_a_rerun_finishes_the_rest(db, book, make_guest):
    guests = [make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=100) for _ in range(5)]
    night = at_night(datetime(2025, 3, 16))

    def crash(_batch):
        raise KeyboardInterrupt("the process dies here")

    with pytest.raises(KeyboardInterrupt):
        expire_balances(db, book, night, batch_size=2, on_batch=crash)
    assert [e.guest_id for e in expiry_entries(db)] == [g.id for g in guests[:2]]
    assert_ledger_reconciles(db)
    rerun = expire_balances(db, book, night, batch_size=2)
    assert (rerun.guests, rerun.kopecks) == (3, 300)
    assert [e.guest_id for e in expiry_entries(db)] == [g.id for g in guests]
    assert_ledger_reconciles(db)


def test_the_job_burns_exactly_when_the_shown_burn_date_arrives(db, book, make_guest):
    moments = [
        datetime(2024, 2, 29, 23, 59, tzinfo=MOSCOW),
        datetime(2024, 3, 31, 0, 0, tzinfo=MOSCOW),
        datetime(2024, 1, 31, 12, 0, tzinfo=MOSCOW),
        datetime(2024, 5, 31, 20, 59, 59, 999_999, tzinfo=UTC),  # 23:59 in Moscow
        datetime(2024, 5, 31, 21, 0, tzinfo=UTC),  # already 1 June in Moscow
        datetime(2024, 12, 31, 23, 0, tzinfo=MOSCOW),
    ]
    guests = [make_guest(
        datetime(2023, 1, 1, tzinfo=MOSCOW), balance=12_000, last_order_at=m
    ) for m in moments]
    due = sorted((accounts.burn_date(g, book, moments[0]), g.id) for g in guests)
    for burns_at, guest_id in due:
        expire_balances(db, book, burns_at - timedelta(microseconds=1))
        assert fetch(db, guest_id).balance == 12_000, burns_at
        expire_balances(db, book, burns_at)
        assert fetch(db, guest_id).balance == 0, burns_at
    assert_ledger_reconciles(db)


def test_a_guest_with_no_balance_gets_no_entry(db, book, make_guest):
    make_guest(datetime(2023, 1, 10, tzinfo=MOSCOW), balance=0)
    assert expire_balances(db, book, at_night(datetime(2025, 3, 16))).guests == 0
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


@pytest.mark.parametrize(("amount", "said"), [
    ("1", "Сгорел 1 бонус"), ("21", "Сгорел 21 бонус"), ("11", "Сгорело 11 бонусов"),
    ("3", "Сгорело 3 бонуса"), ("2.50", "Сгорело 2,50 бонуса"),
])
def test_the_reasons_agree_with_the_amount_in_russian(amount, said):
    """«Сгорело 1 бонус» / «Начислено 21 бонус» were wrong Russian."""
    from decimal import Decimal

    from bonus_service.services.reasons import adjustment, reason

    assert reason("expiry", None, Decimal(amount)).startswith(said)
    if said.startswith("Сгорел "):
        assert reason("accrual", "A-1", Decimal(amount)).startswith("Начислен ")
        assert adjustment(Decimal(amount), "x").startswith("Начислен оператором")
        assert "начисленный за него, уже израсходован" in reason(
            "reversal", "A-1", Decimal(0), written_off=Decimal(amount))
