"""The SMS a week before a balance burns: once per burn date, retried when it failed."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import update

from bonus_service.models import Guest
from bonus_service.services import sms_budget
from rules import ProgramBook, load_program
from scheduler.jobs import expire_balances, send_burn_warnings
from tests.support.guests import fetch
from tests.support.moments import MOSCOW

REGISTERED = datetime(2023, 1, 10, tzinfo=MOSCOW)
LAST_ORDER = datetime(2024, 3, 15, 14, 0, tzinfo=MOSCOW)  # burns at 16.03.2025 00:00
BURNS_AT = datetime(2025, 3, 16, tzinfo=MOSCOW)


def noon(month: int, day: int, year: int = 2025) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=MOSCOW)


def warn(app, now: datetime, book=None, **kwargs):
    return send_burn_warnings(
        app.extensions["bonus_db"], book or app.extensions["bonus_rules"],
        app.extensions["bonus_sms"], now, **kwargs,
    )  # fmt: skip


def with_six_months_from(app, starts: str) -> ProgramBook:
    """The published book and a later version with 6 idle months, in force from `starts`."""
    published = app.extensions["bonus_rules"]
    shorter = copy.deepcopy(published.in_force(noon(3, 1)).data)
    shorter.update(version=f"{starts}-six-months", effective_from=f"{starts}T00:00:00+03:00",
                   expiry={"idle_months": 6})  # fmt: skip
    return ProgramBook([*published, load_program(shorter)])


def bodies(fake_twilio, phone: str) -> list[str]:
    return [message["body"] for message in fake_twilio.messages_to(phone)]


def test_a_guest_is_warned_once_a_week_before_the_balance_burns(app, db, make_guest, fake_twilio):
    guest = make_guest(REGISTERED, balance=12_000, last_order_at=LAST_ORDER)
    assert warn(app, noon(3, 8)).sent == 0  # eight days before: not yet
    assert warn(app, noon(3, 9)).sent == 1
    assert warn(app, noon(3, 10)).sent == 0
    assert warn(app, noon(3, 15)).sent == 0
    assert bodies(fake_twilio, guest.phone) == [
        "ВилкиНет: 120 бонусов сгорят в ночь на 16.03. "
        "Сделайте заказ до конца 15.03, чтобы сохранить их."
    ]
    assert fetch(db, guest.id).warned_for == BURNS_AT


def test_the_warning_names_what_is_available_not_what_is_held(app, make_guest, fake_twilio):
    guest = make_guest(REGISTERED, balance=12_100, held=10_000, last_order_at=LAST_ORDER)
    warn(app, noon(3, 10))
    assert bodies(fake_twilio, guest.phone) == [
        "ВилкиНет: 21 бонус сгорит в ночь на 16.03. "
        "Сделайте заказ до конца 15.03, чтобы сохранить его."
    ]


def test_the_number_of_days_before_is_a_parameter(app, make_guest, fake_twilio):
    make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    assert warn(app, noon(3, 12), days_before=3).sent == 0
    assert warn(app, noon(3, 13), days_before=3).sent == 1


def test_a_guest_with_nothing_to_burn_gets_no_warning(app, make_guest, fake_twilio):
    make_guest(REGISTERED, balance=0, last_order_at=LAST_ORDER)
    make_guest(REGISTERED, balance=3_000, held=3_000, last_order_at=LAST_ORDER)
    assert warn(app, noon(3, 10)).sent == 0
    assert fake_twilio.messages == []


def test_a_failed_send_is_retried_by_the_next_run(app, db, make_guest, fake_twilio):
    guest = make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    fake_twilio.reject_number(guest.phone, "unverified")
    report = warn(app, noon(3, 10))
    assert (report.sent, report.failed) == (0, 1)
    assert fetch(db, guest.id).warned_for is None
    fake_twilio.reset()
    assert warn(app, noon(3, 11)).sent == 1
    assert len(bodies(fake_twilio, guest.phone)) == 1


def test_one_failure_does_not_stop_the_others(app, make_guest, fake_twilio):
    guests = [make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000) for _ in range(3)]
    fake_twilio.reject_number(guests[0].phone)
    report = warn(app, noon(3, 10))
    assert (report.sent, report.failed) == (2, 1)


def test_a_provider_outage_ends_the_run_early_and_the_rest_goes_next_run(
    app, make_guest, fake_twilio
):
    for _ in range(7):
        make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    fake_twilio.fail_next("server_error", count=5)
    report = warn(app, noon(3, 10))
    assert (report.sent, report.failed, report.stopped_early) == (0, 5, True)
    assert warn(app, noon(3, 11)).sent == 7


def test_a_new_order_brings_a_warning_only_for_the_new_burn_date(app, db, make_guest, fake_twilio):
    guest = make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    warn(app, noon(3, 10))
    ordered = noon(3, 12)
    with db.unit_of_work() as session:
        session.execute(update(Guest).where(Guest.id == guest.id).values(last_order_at=ordered))
        session.commit()
    assert warn(app, noon(3, 13)).sent == 0
    assert warn(app, noon(3, 6, 2026)).sent == 1  # a week before 13.03.2026
    assert warn(app, noon(3, 7, 2026)).sent == 0
    assert [b.split(" сгор")[1] for b in bodies(fake_twilio, guest.phone)] == [
        "ят в ночь на 16.03. Сделайте заказ до конца 15.03, чтобы сохранить их.",
        "ят в ночь на 13.03. Сделайте заказ до конца 12.03, чтобы сохранить их.",
    ]


def test_a_balance_that_has_burned_is_not_warned_about(app, db, book, make_guest, fake_twilio):
    make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    expire_balances(db, book, BURNS_AT + timedelta(hours=3))
    assert warn(app, BURNS_AT + timedelta(hours=12)).sent == 0


def test_a_version_for_later_with_fewer_idle_months_is_warned_about_before_it_burns(
    app, db, make_guest, fake_twilio
):
    """Warnings and /v1/me took the burn date from the version in force now: a version
    published for 1 April with 6 idle months burned a balance idle since September at its start
    without the guest's one warning."""
    book = with_six_months_from(app, "2025-04-01")
    guest = make_guest(
        REGISTERED, balance=12_000, last_order_at=datetime(2024, 9, 15, 14, 0, tzinfo=MOSCOW)
    )
    assert book.burns_at(guest.last_order_at, noon(3, 20)) == datetime(2025, 4, 1, tzinfo=MOSCOW)
    assert warn(app, noon(3, 24), book).sent == 0  # eight days before the new version: not yet
    assert warn(app, noon(3, 25), book).sent == 1
    assert bodies(fake_twilio, guest.phone)[0].startswith(
        "ВилкиНет: 120 бонусов сгорят в ночь на 01.04.")
    assert expire_balances(db, book, datetime(2025, 4, 1, 3, 0, tzinfo=MOSCOW)).guests == 1


def test_a_warning_whose_answer_was_lost_is_not_texted_again(app, db, make_guest, fake_twilio):
    """Twilio took the message and its answer timed out: the next run texted the guest the same
    warning again (an expiry audit). A lost answer keeps the claim; a refused send does not."""
    guest = make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    fake_twilio.fail_next("hang")
    report = warn(app, noon(3, 10))
    assert (report.sent, report.failed) == (0, 1)
    assert fetch(db, guest.id).warned_for is not None
    assert warn(app, noon(3, 11)).sent == 0


def test_a_burn_date_brought_forward_after_a_warning_is_warned_about_again(
    app, db, make_guest, fake_twilio
):
    """Warned for 16 March, then a version with 6 idle months from 12 March: the balance
    burned on 12 March, before the date the guest had been told, with no second warning (an
    expiry audit). The warning is for a date; another date is another warning."""
    guest = make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    assert warn(app, noon(3, 10)).sent == 1
    book = with_six_months_from(app, "2025-03-12")
    assert warn(app, noon(3, 11), book).sent == 1
    assert warn(app, noon(3, 11) + timedelta(hours=1), book).sent == 0  # once per date
    assert [body[:44] for body in bodies(fake_twilio, guest.phone)] == [
        "ВилкиНет: 120 бонусов сгорят в ночь на 16.03",
        "ВилкиНет: 120 бонусов сгорят в ночь на 12.03"]


def _codes_sent(db, count: int, at: datetime) -> None:
    """`count` login codes of other guests, sent at `at`."""
    with db.unit_of_work() as session:
        for n in range(count):
            sms_budget.record(session, f"+7914{n:07d}", f"192.0.2.{n % 250}", "login", at)
        session.commit()


def test_warnings_count_against_the_sms_budget_and_take_at_most_half_of_it(
    app, db, make_guest, fake_twilio, caplog
):
    """Five guests due, a budget of 6 an hour: three go (half the budget), the run stops and
    says so, and the next run warns the other two."""
    for _ in range(5):
        make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    report = warn(app, noon(3, 10), sms_per_hour=6)
    assert (report.sent, report.stopped_early, report.postponed) == (3, True, True)
    assert "SMS budget spent" in caplog.text
    assert warn(app, noon(3, 11), sms_per_hour=6).sent == 2
    assert len(fake_twilio.messages) == 5


def test_a_budget_spent_on_codes_postpones_the_warnings_to_the_next_run(
    app, db, make_guest, fake_twilio
):
    guest = make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    _codes_sent(db, 6, noon(3, 10) - timedelta(minutes=30))
    report = warn(app, noon(3, 10), sms_per_hour=6)
    assert (report.sent, report.postponed) == (0, True)
    assert fetch(db, guest.id).warned_for is None  # not claimed: the next run warns
    assert warn(app, noon(3, 11), sms_per_hour=6).sent == 1


def test_a_warning_counts_for_the_budget_but_not_for_the_guests_code_limits(
    app, client, make_guest, fake_twilio
):
    """A login right after the warning is not told "a code was sent a moment ago"."""
    guest = make_guest(REGISTERED, last_order_at=LAST_ORDER, balance=12_000)
    with freeze_time(noon(3, 10)):
        assert warn(app, noon(3, 10)).sent == 1
        asked = client.post("/v1/auth/sms-code", json={"phone": guest.phone})
    assert asked.status_code == 202, asked.get_json()
