"""`bonus simulate`: past orders replayed under a candidate program, beside what happened.

The candidate gives 5% on delivery, caps redemption at 10% and allows no promo code. The
orders of November 2024 (default program: 3% on delivery, 20% cap), in bonuses:

| order            | actual: accrual / redeemed / cap | candidate: accrual / redeemed / cap |
|------------------|----------------------------------|-------------------------------------|
| delivery 1000    | 30 / 0 / 200                     | 50 / 0 / 100                        |
| pickup 1000, 150 | 100 / 150 / 200                  | 100 / 100 / 100                     |
| delivery 600,100 | 18 / 100 / 100 (zone min 500)    | 30 / 60 / 60                        |
| cafe lunch 700   | 21 / 0 / 0                       | 21 / 0 / 0                          |
| unregistered     | 0 / 0 / 0                        | 0 / 0 / 0                           |
| promo pickup 300 | 9 / 0 / 0                        | refused: two columns leave it out   |
Not replayed: one cancelled, one placed in October, one placed in December.

Month by month, October to December (the candidate's zone, Europe/Moscow), in bonuses:

| month   | orders | actual: accrued / redeemed / cap | candidate: accrued / redeemed / cap |
|---------|--------|----------------------------------|-------------------------------------|
| 2024-10 | 1      | 30 / 0 / 200 (delivery 1000)     | 50 / 0 / 100                        |
| 2024-11 | 5      | 169 / 250 / 500 (the table above)| 201 / 160 / 260                     |
| 2024-12 | 1      | 30 / 0 / 200 (delivery 1000)     | 50 / 0 / 100                        |
The guest of November and December: delivery +20, pickup +50, small delivery +52, December +20
= +142 over 4 changed orders (accrual +52, redeemed −90); the guest of October: +20 over 1.
"""

from __future__ import annotations

import threading
import time
from dataclasses import astuple
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

import bonus_service.services.replays as replay_module
import rules
from bonus_service.models import ReplayJob as ReplayRow
from bonus_service.services.replays import Replays, UnknownReplay
from bonus_service.services.simulate import simulate
from tests.support.moments import msk
from tests.support.phones import new_phone
from tests.support.shop import cafe, delivery, pickup

PROGRAMS = Path(__file__).resolve().parent / "programs"
CANDIDATE = PROGRAMS / "delivery-5-cap-10.json"
DEFAULT = Path(__file__).resolve().parents[2] / "rules" / "programs" / "2024-01-01-default.json"
NOVEMBER = (msk(2024, 11, 1), msk(2024, 12, 1))


def order(shop, phone, body, redeem="0", token=None, *, complete=True) -> str:
    placed = shop.place(phone, body, redeem, token)
    assert placed.status_code == 201, placed.get_json()
    oid = placed.get_json()["id"]
    answer = shop.complete(oid) if complete else shop.cancel(oid)
    assert answer.status_code == 200, answer.get_json()
    return oid


@pytest.fixture
def november(shop) -> dict[str, str]:
    """The orders of the table above, each placed at its own moment; name → order id."""
    ids = {}
    with freeze_time(msk(2024, 10, 20, 12)):
        phone, token = shop.guest("1000.00")
        ids["october"] = order(shop, phone, delivery("1000.00"))
    with freeze_time(msk(2024, 11, 5, 12)):
        phone, token = shop.guest("1000.00")
        ids["delivery"] = order(shop, phone, delivery("1000.00"))
        ids["pickup"] = order(shop, phone, pickup("1000.00"), "150.00", token)
        ids["small_delivery"] = order(shop, phone, delivery("600.00"), "100.00", token)
        ids["lunch"] = order(shop, phone, cafe("700.00", "business_lunch"))
        ids["unregistered"] = order(shop, new_phone(), pickup("1000.00"))
        ids["promo"] = order(shop, phone, pickup("300.00", promo_codes=["AUTUMN"]))
        ids["cancelled"] = order(shop, phone, delivery("2000.00"), complete=False)
    with freeze_time(msk(2024, 12, 5, 12)):
        ids["december"] = order(shop, phone, delivery("1000.00", zone="south"))
    return ids


def run(db, book, candidate_file: Path, top: int = 10):
    with db.unit_of_work(write=False) as session:
        return simulate(session, book, rules.load_program(candidate_file), *NOVEMBER, top=top)


def test_the_candidate_is_compared_with_what_really_happened_order_by_order(november, db, book):
    report = run(db, book, CANDIDATE)

    assert (report.orders, report.changed, report.refused) == (5, 3, 1)
    actual, candidate = report.actual, report.candidate
    assert (actual.accrued, actual.redeemed, actual.redeemable) == (16_900, 25_000, 50_000)
    assert (candidate.accrued, candidate.redeemed, candidate.redeemable) == (20_100, 16_000, 26_000)
    assert report.liability_change == 12_200  # (201 − 160) − (169 − 250) bonuses


def test_the_orders_that_changed_most_come_first(november, db, book):
    report = run(db, book, CANDIDATE, top=2)

    assert [(r.order_id, r.liability_change) for r in report.top] == [
        (november["small_delivery"], 5_200),  # +12 accrued, 40 fewer spent
        (november["pickup"], 5_000),  # the same accrued, 50 fewer spent
    ]


def test_replaying_the_program_in_force_changes_nothing(november, db, book):
    report = run(db, book, DEFAULT)

    assert (report.orders, report.changed, report.refused, report.liability_change) == (6, 0, 0, 0)
    assert report.actual == report.candidate
    assert report.top == []


def test_the_cli_prints_the_comparison_and_the_orders_that_changed_most(november, bonus, db):
    result = bonus("simulate", "--rules", str(CANDIDATE), "--since", "2024-11-01",
                   "--until", "2024-12-01", "--top", "3")  # fmt: skip

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:7] == [
        "candidate 2025-candidate-delivery-5-cap-10 on completed orders placed "
        "2024-11-01T00:00:00+03:00 .. 2024-12-01T00:00:00+03:00",
        "orders replayed: 5, changed: 3, refused by the candidate: 1",
        "                               actual      candidate     difference",
        "  accrued                      169.00         201.00         +32.00",
        "  redeemed                     250.00         160.00         -90.00",
        "  redeemable (Σ cap)           500.00         260.00        -240.00",
        "liability change: +122.00 bonuses",
    ]
    assert lines[7:11] == [
        "orders that changed most:",
        f"  {november['small_delivery']}  delivery 600.00: accrual 18.00 → 30.00, "
        "redeemed 100.00 → 60.00, liability +52.00",
        f"  {november['pickup']}  pickup 1000.00: accrual 100.00 → 100.00, "
        "redeemed 150.00 → 100.00, liability +50.00",
        f"  {november['delivery']}  delivery 1000.00: accrual 30.00 → 50.00, "
        "redeemed 0.00 → 0.00, liability +20.00",
    ]
    assert lines[11:] == [
        "guests most affected:",
        f"  guest {guest_id(db, november['pickup'])} {masked_phone(db, november['pickup'])}: "
        "3 orders changed, accrual +32.00, redeemed -90.00, liability +122.00",
        "by month (Europe/Moscow), actual beside candidate:",
        "  month      orders                   accrued                redeemable"
        "                  redeemed                 liability",
        "  2024-11         5       169.00       201.00       500.00       260.00"
        "       250.00       160.00       -81.00        41.00",
    ]


def test_the_cli_refuses_an_invalid_candidate_file_naming_the_problem(bonus, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": "x"}', encoding="utf-8")

    result = bonus("simulate", "--rules", str(broken), "--since", "2024-11-01")

    assert result.exit_code == 2
    assert "Invalid value for --rules: broken.json: accrual: is missing" in result.output


def test_streaming_in_batches_smaller_than_the_period_gives_the_same_figures(november, db, book):
    with db.unit_of_work(write=False) as session:
        report = simulate(session, book, rules.load_program(CANDIDATE), *NOVEMBER, batch_size=2)

    assert (report.orders, report.liability_change) == (5, 12_200)


def test_without_a_list_of_orders_the_figures_are_the_same(november, db, book):
    report = run(db, book, CANDIDATE, top=0)

    assert (report.orders, report.liability_change, report.top) == (5, 12_200, [])


def test_an_order_whose_own_version_is_gone_is_named_not_a_traceback(november, bonus, db):
    """A version file removed from BONUS_RULES_DIR: the replay cannot say what really applied."""
    from sqlalchemy import update

    from bonus_service.models import Order

    with db.unit_of_work() as session:
        session.execute(update(Order).where(Order.id == november["delivery"])
                        .values(rules_version="2023-removed"))  # fmt: skip
        session.commit()
    result = bonus("simulate", "--rules", str(CANDIDATE), "--since", "2024-11-01",
                   "--until", "2024-12-01")  # fmt: skip
    assert result.exit_code == 1
    assert result.output == (
        f"Error: order {november['delivery']} was placed under rules version '2023-removed', "
        "which BONUS_RULES_DIR does not hold: restore its file (a published version stays)\n")


def placed_order(db, order_id: str):
    """The order of that id (the shop's ids are unique across its clients)."""
    from sqlalchemy import select

    from bonus_service.models import Order

    with db.unit_of_work(write=False) as session:
        return session.scalars(select(Order).where(Order.id == order_id)).one()


def guest_id(db, order_id: str) -> int:
    return placed_order(db, order_id).guest_id


def masked_phone(db, order_id: str) -> str:
    import sms

    return sms.masked(placed_order(db, order_id).phone)


AUTUMN = (msk(2024, 10, 1), msk(2025, 1, 1))


def test_the_figures_are_given_month_by_month_beside_what_happened(november, db, book):
    with db.unit_of_work(write=False) as session:
        report = simulate(session, book, rules.load_program(CANDIDATE), *AUTUMN)

    assert report.timezone == "Europe/Moscow"
    assert [(m.month, m.orders, astuple(m.actual), astuple(m.candidate), m.liability_change)
            for m in report.months] == [
        ("2024-10", 1, (3_000, 0, 20_000), (5_000, 0, 10_000), 2_000),
        ("2024-11", 5, (16_900, 25_000, 50_000), (20_100, 16_000, 26_000), 12_200),
        ("2024-12", 1, (3_000, 0, 20_000), (5_000, 0, 10_000), 2_000),
    ]  # fmt: skip
    assert (report.orders, report.changed, report.refused) == (7, 5, 1)
    assert astuple(report.actual) == (22_900, 25_000, 90_000)
    assert report.liability_change == 16_200


def test_the_guests_most_affected_are_summed_over_their_orders_phones_masked(november, db, book):
    with db.unit_of_work(write=False) as session:
        report = simulate(session, book, rules.load_program(CANDIDATE), *AUTUMN, top_guests=5)

    regular, october = guest_id(db, november["pickup"]), guest_id(db, november["october"])
    assert [(g.guest_id, g.orders, g.accrued_change, g.redeemed_change, g.liability_change)
            for g in report.guests] == [
        (regular, 4, 5_200, -9_000, 14_200),
        (october, 1, 2_000, 0, 2_000),
    ]  # fmt: skip
    assert report.guests[0].phone == masked_phone(db, november["pickup"])
    assert "***" in report.guests[0].phone


def test_an_order_past_midnight_on_the_first_counts_in_the_month_of_the_programs_zone(
    shop, db, book
):
    """00:30 MSK on 1 December is still 30 November in UTC: the month is the program's."""
    with freeze_time(msk(2024, 12, 1, 0, 30)):
        phone, _ = shop.guest()
        order(shop, phone, delivery("1000.00"))

    with db.unit_of_work(write=False) as session:
        report = simulate(session, book, rules.load_program(CANDIDATE), *AUTUMN)

    assert [(m.month, m.orders) for m in report.months] == [("2024-12", 1)]


def test_progress_is_reported_after_each_batch_with_the_total(november, db, book):
    seen = []
    with db.unit_of_work(write=False) as session:
        simulate(session, book, rules.load_program(CANDIDATE), *NOVEMBER, batch_size=4,
                 progress=lambda done, total: seen.append((done, total)))  # fmt: skip

    assert seen == [(4, 6), (6, 6)]  # the refused promo order is read too


def test_an_empty_period_reports_its_progress_once(db, book):
    seen = []
    with db.unit_of_work(write=False) as session:
        report = simulate(session, book, rules.load_program(CANDIDATE), *NOVEMBER,
                          progress=lambda done, total: seen.append((done, total)))  # fmt: skip

    assert (seen, report.months, report.guests) == ([(0, 0)], [], [])


def test_a_replay_in_the_background_ends_with_the_synchronous_result(november, db, book):
    candidate = rules.load_program(CANDIDATE)
    with db.unit_of_work(write=False) as session:
        expected = simulate(session, book, candidate, *AUTUMN, top=3)
    replays = Replays(db)

    started = replays.start(book, candidate, *AUTUMN, top=3, batch_size=2)
    finished = replays.wait(started.id, timeout=60)

    assert (started.status, started.done, started.total) == ("running", 0, None)
    assert (finished.status, finished.error) == ("done", None)
    assert (finished.done, finished.total) == (8, 8)
    assert finished.result == expected
    assert finished.finished_at >= finished.started_at
    assert Replays(db).get(started.id) == finished  # another worker reads it from the database


def test_a_background_replay_that_fails_says_why(november, db):
    """A book without the version the orders were placed under: the replay fails, named."""
    candidate = rules.load_program(CANDIDATE)
    replays = Replays(db)

    job = replays.wait(replays.start(rules.ProgramBook([candidate]), candidate, *NOVEMBER).id,
                       timeout=60)  # fmt: skip

    assert job.status == "failed"
    assert "was placed under rules version '2024-01-01-default'" in job.error
    assert job.result is None


def test_a_replay_whose_process_died_reads_as_failed_once_its_beats_stop(db):
    """What a worker killed mid-replay leaves behind: its row `running`, its beats stopped."""
    last_beat = msk(2026, 12, 7, 12)
    with db.unit_of_work() as session:
        session.add(ReplayRow(id="dead", candidate_version="candidate", since=NOVEMBER[0],
                              until=NOVEMBER[1], status="running", done=40, total=100,
                              started_at=last_beat - timedelta(minutes=30),
                              beat_at=last_beat))  # fmt: skip
        session.commit()

    def read(after: timedelta):
        return Replays(db, clock=lambda: last_beat + after).get("dead")

    at_the_edge = read(replay_module.STALE_AFTER)
    assert (at_the_edge.status, at_the_edge.error) == ("running", None)
    gone = read(replay_module.STALE_AFTER + timedelta(seconds=1))
    assert gone.status == "failed" and "stopped (no sign of life for 2 minutes)" in gone.error
    assert (gone.done, gone.total, gone.result) == (40, 100, None)


def test_a_running_replay_keeps_beating_so_a_long_one_never_reads_as_dead(
    november, db, book, monkeypatch
):
    """The clock moves an hour past the start while the replay waits: its beats keep it alive."""
    monkeypatch.setattr(replay_module, "BEAT_SECONDS", 0.01)
    gate, real = threading.Event(), replay_module.simulate

    def held(*args, **kwargs):
        assert gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(replay_module, "simulate", held)
    now = [msk(2026, 12, 7, 12)]
    replays = Replays(db, clock=lambda: now[0])
    started = replays.start(book, rules.load_program(CANDIDATE), *AUTUMN)
    now[0] += timedelta(hours=1)

    deadline = time.monotonic() + 10
    while replays.get(started.id).status == "failed" and time.monotonic() < deadline:
        time.sleep(0.02)  # until the first beat after the jump is written
    assert replays.get(started.id).status == "running"
    gate.set()
    assert replays.wait(started.id, timeout=60).status == "done"


def test_an_unknown_replay_id_is_its_own_error(db):
    with pytest.raises(UnknownReplay):
        Replays(db).get("nope")
