"""Program settings change results without code: rounding, accrual base, promo limit, time."""

import copy
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from rules import OrderError, evaluate, load_program
from tests.support.rules_orders import NOW, RICH, an_order

D = Decimal


def with_settings(program, **settings):
    data = copy.deepcopy(program.data)
    data.update(settings)
    return load_program(data)


def accrual(program, order, redeem="0", now=NOW) -> Decimal:
    return evaluate(program, order, RICH, redeem=D(redeem), zone_min_order=D(0), now=now).accrual


def test_a_quantum_of_one_kopeck_keeps_kopecks(program):
    kopecks = with_settings(program, rounding={"mode": "down", "quantum": "0.01"})
    assert accrual(kopecks, an_order("delivery", "999.99")) == D("29.99")


def test_redeem_is_spent_in_steps_of_the_quantum(program):
    fives = with_settings(program, rounding={"mode": "down", "quantum": "5"})
    asked = {redeem: evaluate(fives, an_order("pickup", "1000.00"), RICH, redeem=D(redeem), now=NOW)
             for redeem in ("15", "17")}
    assert asked["15"].redeem_in_steps and not asked["17"].redeem_in_steps
    assert asked["17"].explanation[-1].message == (
        "Бонусы списываются только суммами, кратными 5: запрошено к списанию 17 бонусов")
    kopecks = with_settings(program, rounding={"mode": "down", "quantum": "0.01"})
    assert evaluate(kopecks, an_order("pickup", "1000.00"), RICH, redeem=D("10.57"),
                    now=NOW).redeem_in_steps


def test_half_up_rounding_rounds_to_the_nearest_bonus(program):
    nearest = with_settings(program, rounding={"mode": "half_up", "quantum": "1"})
    assert accrual(nearest, an_order("delivery", "999.00")) == D("30.00")


def test_the_redeem_cap_always_rounds_down_whatever_the_mode(program):
    upward = with_settings(program, rounding={"mode": "up", "quantum": "1"})
    decision = evaluate(upward, an_order("pickup", "999.99"), RICH, now=NOW)
    assert (decision.accrual, decision.redeem_max) == (D("100.00"), D("199.00"))


def test_accrual_on_the_paid_amount_when_the_program_says_so(program):
    """A program may earn on what money paid: 3% of 1000 − 200 is 24 (the default: 30)."""
    paid = with_settings(program, accrual_base="paid")
    assert accrual(paid, an_order("delivery", "1000.00"), redeem="200.00") == D("24.00")
    assert accrual(program, an_order("delivery", "1000.00"), redeem="200.00") == D("30.00")


def test_a_program_that_names_no_accrual_base_earns_on_the_order_amount(program):
    data = copy.deepcopy(program.data)
    del data["accrual_base"]
    assert load_program(data).accrual_base == "total"


def test_the_promo_code_limit_is_a_program_setting(program):
    two = with_settings(program, max_promo_codes=2)
    assert accrual(two, an_order("pickup", "1000.00", promo_codes=["A", "B"])) == D("100.00")
    with pytest.raises(OrderError, match="at most 2 promo codes per order"):
        accrual(two, an_order("pickup", "1000.00", promo_codes=["A", "B", "C"]))


def test_a_rule_may_read_the_local_weekday_and_hour(program):
    data = copy.deepcopy(program.data)
    data["accrual"].insert(0, {
        "id": "weekend_evening", "percent": "7", "message": "Вечер выходного дня",
        "when": {"and": [{"in": [{"var": "weekday"}, [6, 7]]}, {">=": [{"var": "hour"}, 18]}]}})
    weekend = load_program(data)
    moscow = ZoneInfo("Europe/Moscow")
    saturday_evening = datetime(2025, 3, 15, 18, 0, tzinfo=moscow)
    assert accrual(weekend, an_order("cafe", "1000.00"), now=saturday_evening) == D("70.00")
    assert accrual(weekend, an_order("cafe", "1000.00"),
                   now=saturday_evening.replace(hour=17)) == D("30.00")


def test_an_order_no_rule_matches_earns_nothing_and_says_so(program):
    data = copy.deepcopy(program.data)
    data["accrual"] = [data["accrual"][2]]  # pickup over 500 only
    narrow = load_program(data)
    decision = evaluate(narrow, an_order("cafe", "1000.00"), RICH, now=NOW)
    assert decision.accrual == 0
    assert decision.explanation[0].rule == "accrual.none"
