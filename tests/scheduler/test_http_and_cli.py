"""The expiry seen from outside: the burn date clients are shown, an open order's held
bonuses, and the `bonus expire` command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from bonus_service.clock import utcnow
from scheduler.jobs import expire_balances
from tests.support.books import a_book
from tests.support.guests import fetch
from tests.support.http import bearer, login
from tests.support.ledger_checks import assert_ledger_reconciles, expiry_entries
from tests.support.moments import MOSCOW
from tests.support.shop import Shop, pickup


def a_shop(client, fake_twilio, make_key) -> Shop:
    return Shop(client, fake_twilio, make_key("checkout"), make_key("operator"), make_key("admin"))


def test_the_burn_date_clients_are_shown_is_the_instant_the_job_burns(
    app, db, book, client, fake_twilio, make_key
):
    shop = a_shop(client, fake_twilio, make_key)
    with freeze_time(datetime(2024, 2, 29, 20, 30, tzinfo=UTC)):  # 23:30 on 29 February, Moscow
        phone, token = shop.guest("75")
        operator_view = client.get(f"/v1/guests/{phone}", headers=bearer(shop.operator, None))
        shown = operator_view.get_json()["burns_at"]
        assert shop.me(token)["burns_at"] == shown
    burns_at = datetime.fromisoformat(shown)
    assert burns_at == datetime(2025, 3, 1, tzinfo=MOSCOW)
    assert expire_balances(db, book, burns_at - timedelta(microseconds=1)).guests == 0
    assert expire_balances(db, book, burns_at).kopecks == 7_500


def test_an_order_placed_on_the_last_idle_day_keeps_the_balance_until_it_completes(
    app, db, book, client, fake_twilio, make_key
):
    """The warning SMS asks for an order by the end of the last day; one placed at 23:00 and
    completed next morning lost the balance at 03:00 (an expiry audit). Under the published
    program (`expiry.open_orders: "wait"`) the run leaves the guest alone."""
    shop = a_shop(client, fake_twilio, make_key)
    with freeze_time(datetime(2024, 3, 15, 11, 0, tzinfo=UTC)) as clock:
        phone, _ = shop.guest("200")
        clock.move_to(datetime(2025, 3, 15, 20, 0, tzinfo=UTC))  # 23:00, the last idle day
        token = login(client, fake_twilio, phone)
        placed = shop.place(phone, pickup("1000.00"))
        clock.move_to(datetime(2025, 3, 16, 0, 0, tzinfo=UTC))  # 03:00, the nightly run
        assert expire_balances(db, book, utcnow()).kopecks == 0
        clock.move_to(datetime(2025, 3, 16, 7, 0, tzinfo=UTC))
        assert shop.complete(placed.get_json()["id"]).status_code == 200
        me = shop.me(token)
        assert (me["balance"], me["burns_at"]) == ("300.00", "2026-03-17T00:00:00+03:00")
        clock.move_to(datetime(2025, 3, 17, 0, 0, tzinfo=UTC))
        assert expire_balances(db, book, utcnow()).kopecks == 0
    assert_ledger_reconciles(db)


def test_an_order_that_never_completes_keeps_the_balance_only_while_it_is_open(
    app, db, book, client, fake_twilio, make_key
):
    shop = a_shop(client, fake_twilio, make_key)
    with freeze_time(datetime(2024, 3, 15, 11, 0, tzinfo=UTC)) as clock:
        phone, _ = shop.guest("200")
        clock.move_to(datetime(2025, 3, 15, 20, 0, tzinfo=UTC))
        placed = shop.place(phone, pickup("1000.00")).get_json()["id"]
        clock.move_to(datetime(2025, 3, 16, 0, 0, tzinfo=UTC))
        assert expire_balances(db, book, utcnow()).kopecks == 0
        assert shop.cancel(placed).status_code == 200
        clock.move_to(datetime(2025, 3, 16, 1, 0, tzinfo=UTC))  # still within the 24 hours
        assert expire_balances(db, book, utcnow()).kopecks == 20_000
    assert_ledger_reconciles(db)


def test_an_order_left_open_protects_the_balance_one_night_not_for_ever(
    app, db, book, client, fake_twilio, make_key
):
    """An order without a redeem has no hold to lapse, so the timer never ends it: left
    placed, it kept the balance from burning for good (a review). It counts for the
    program's expiry.open_order_hours (24) after its placing."""
    shop = a_shop(client, fake_twilio, make_key)
    with freeze_time(datetime(2024, 3, 15, 11, 0, tzinfo=UTC)) as clock:
        phone, _ = shop.guest("200")
        clock.move_to(datetime(2025, 3, 15, 20, 0, tzinfo=UTC))  # 23:00, the last idle day
        assert shop.place(phone, pickup("1000.00")).status_code == 201
        clock.move_to(datetime(2025, 3, 16, 0, 0, tzinfo=UTC))  # 03:00: four hours later
        assert expire_balances(db, book, utcnow()).kopecks == 0
        clock.move_to(datetime(2025, 3, 17, 0, 0, tzinfo=UTC))  # 28 hours later
        assert expire_balances(db, book, utcnow()).kopecks == 20_000
    assert_ledger_reconciles(db)


def test_under_burn_only_the_bonuses_held_by_an_open_order_survive_the_night(
    app, db, book, client, fake_twilio, make_key
):
    book = a_book(book.in_force(datetime(2025, 3, 16, tzinfo=UTC)), open_orders="burn")
    shop = a_shop(client, fake_twilio, make_key)
    with freeze_time(datetime(2024, 3, 15, 11, 0, tzinfo=UTC)) as clock:
        phone, _ = shop.guest("200")
        clock.move_to(datetime(2025, 3, 15, 20, 0, tzinfo=UTC))  # 23:00, the last idle day
        token = login(client, fake_twilio, phone)
        placed = shop.place(phone, pickup("1000.00"), redeem="40", token=token)
        assert placed.status_code == 201, placed.get_json()
        clock.move_to(datetime(2025, 3, 16, 0, 0, tzinfo=UTC))  # 03:00, the nightly run
        assert expire_balances(db, book, utcnow()).kopecks == 16_000
        me = shop.me(token)
        assert (me["balance"], me["available"], me["burns_at"]) == ("40.00", "0.00", None)
        assert shop.complete(placed.get_json()["id"]).status_code == 200
        assert shop.me(token)["balance"] == "100.00"  # 40 spent, 10% of the 1000 credited
    assert_ledger_reconciles(db)


REGISTERED = datetime(2024, 3, 15, 14, 0, tzinfo=MOSCOW)  # burns at 16.03.2025 00:00 Moscow


def test_the_expire_command_says_what_would_burn_and_then_what_burned(runner, db, make_guest):
    guests = [make_guest(REGISTERED, balance=10_000), make_guest(REGISTERED, balance=5_050)]
    args = ["bonus", "expire", "--as-of", "2025-03-16T03:00:00+03:00"]
    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("would burn 2 balances, 150.50 bonuses")
    assert fetch(db, guests[0].id).balance == 10_000
    burned = runner.invoke(args=args)
    assert burned.output.startswith("burned 2 balances, 150.50 bonuses")
    again = runner.invoke(args=args)
    assert again.output.startswith("burned 0 balances, 0.00 bonuses")


def test_a_naive_as_of_is_read_in_the_service_time_zone(runner, db, make_guest):
    guest = make_guest(REGISTERED, balance=10_000)
    # 23:59 in Moscow is still the last idle day (read as UTC it would be 02:59 the next day)
    kept = runner.invoke(args=["bonus", "expire", "--as-of", "2025-03-15T23:59:00"])
    assert kept.output.startswith("burned 0 balances"), kept.output
    assert fetch(db, guest.id).balance == 10_000
    assert runner.invoke(
        args=["bonus", "expire", "--as-of", "2025-03-16T00:00:00"]
    ).output.startswith("burned 1 balances")


def test_a_malformed_as_of_is_refused(runner):
    result = runner.invoke(args=["bonus", "expire", "--as-of", "yesterday"])
    assert result.exit_code == 2
    assert "not an ISO date or date-time" in result.output


def test_a_past_as_of_burns_as_of_then_in_entries_dated_now(runner, db, make_guest):
    """Entries were dated at --as-of: a burn 20 months before the credit it burned, the ledger
    out of order by date (an expiry audit)."""
    guest = make_guest(REGISTERED, balance=10_000)
    before = utcnow()
    burned = runner.invoke(args=["bonus", "expire", "--as-of", "2025-03-16T03:00:00+03:00"])
    assert burned.output.startswith("burned 1 balances"), burned.output
    [entry] = expiry_entries(db, guest.id)
    assert entry.created_at >= before
