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
"""

from __future__ import annotations

from pathlib import Path

import pytest
from freezegun import freeze_time

import rules
from bonus_service.services.simulate import simulate
from tests.operations.conftest import PROGRAMS, msk
from tests.service.checkout_helpers import cafe, delivery, pickup
from tests.service.helpers import new_phone

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


def test_the_cli_prints_the_comparison_and_the_orders_that_changed_most(november, bonus):
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
    assert lines[7:] == [
        "orders that changed most:",
        f"  {november['small_delivery']}  delivery 600.00: accrual 18.00 → 30.00, "
        "redeemed 100.00 → 60.00, liability +52.00",
        f"  {november['pickup']}  pickup 1000.00: accrual 100.00 → 100.00, "
        "redeemed 150.00 → 100.00, liability +50.00",
        f"  {november['delivery']}  delivery 1000.00: accrual 30.00 → 50.00, "
        "redeemed 0.00 → 0.00, liability +20.00",
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
