"""Every rule and worked example of the published rules, under the default program."""

from decimal import Decimal

import pytest

from rules import Decision, GuestState, OrderError, evaluate, load_program
from tests.support.rules_orders import NOW, RICH, an_order

D = Decimal


def decide(program, order, guest=RICH, *, redeem="0", zone_min="500.00") -> Decision:
    return evaluate(program, order, guest, redeem=D(redeem), zone_min_order=D(zone_min), now=NOW)


def rules_of(decision: Decision) -> list[str]:
    return [line.rule for line in decision.explanation]


def test_delivery_of_1000_earns_30_bonuses(program):
    assert decide(program, an_order("delivery", "1000.00")).accrual == D("30.00")


def test_pickup_of_1000_earns_100_bonuses(program):
    assert decide(program, an_order("pickup", "1000.00")).accrual == D("100.00")


def test_cafe_order_earns_3_percent(program):
    assert decide(program, an_order("cafe", "1000.00")).accrual == D("30.00")


def test_pickup_of_exactly_500_earns_3_percent(program):
    assert decide(program, an_order("pickup", "500.00")).accrual == D("15.00")


def test_pickup_of_500_01_earns_10_percent(program):
    assert decide(program, an_order("pickup", "500.01")).accrual == D("50.00")


def test_pickup_threshold_looks_at_the_total_after_discount(program):
    decision = decide(program, an_order("pickup", "600.00", discount="100.00"))
    assert (decision.total, decision.accrual) == (D("500.00"), D("15.00"))


def test_3_percent_of_999_rounds_down_to_29(program):
    assert decide(program, an_order("delivery", "999.00")).accrual == D("29.00")


def test_delivery_of_800_with_zone_minimum_500_redeems_at_most_160(program):
    assert decide(program, an_order("delivery", "800.00"), zone_min="500.00").redeem_max == D("160")


def test_delivery_of_550_with_zone_minimum_500_redeems_at_most_50(program):
    decision = decide(program, an_order("delivery", "550.00"), zone_min="500.00")
    assert decision.redeem_max == D("50.00")
    assert "redeem.zone_minimum" in rules_of(decision)


def test_delivery_under_the_zone_minimum_redeems_nothing(program):
    assert decide(program, an_order("delivery", "450.00"), zone_min="500.00").redeem_max == 0


def test_pickup_and_cafe_redeem_20_percent_whatever_the_zone_minimum(program):
    for channel in ("pickup", "cafe"):
        decision = decide(program, an_order(channel, "800.00"), zone_min="790.00")
        assert decision.redeem_max == D("160.00")


def test_a_balance_smaller_than_the_cap_caps_redemption(program):
    guest = GuestState(registered=True, available=D("57.40"))
    decision = decide(program, an_order("pickup", "1000.00"), guest)
    assert decision.redeem_max == D("57.00")
    assert "redeem.balance" in rules_of(decision)


def test_20_percent_cap_rounds_down_to_a_whole_bonus(program):
    decision = decide(program, an_order("pickup", "999.99"))
    assert decision.redeem_max == D("199.00")
    assert "redeem.percent_cap" in rules_of(decision)


def test_a_promo_code_order_accrues_but_redeems_nothing(program):
    decision = decide(program, an_order("pickup", "1000.00", promo_codes=["AUTUMN"]))
    assert (decision.accrual, decision.redeem_max) == (D("100.00"), D("0.00"))
    assert any(line.message == "Оплата бонусами недоступна: в заказе есть промокод"
               for line in decision.explanation)


def test_a_cafe_business_lunch_earns_3_percent_and_redeems_nothing(program):
    order = an_order("cafe", "1000.00", categories=["business_lunch"])
    decision = decide(program, order)
    assert (decision.accrual, decision.redeem_max) == (D("30.00"), D("0.00"))
    assert rules_of(decision)[:2] == ["cafe_business_lunch", "cafe_business_lunch"]


def test_a_business_lunch_outside_the_cafe_follows_the_usual_rules(program):
    decision = decide(program, an_order("pickup", "1000.00", categories=["business_lunch"]))
    assert (decision.accrual, decision.redeem_max) == (D("100.00"), D("200.00"))


def test_two_promo_codes_are_refused(program):
    with pytest.raises(OrderError) as refused:
        decide(program, an_order("pickup", "1000.00", promo_codes=["A", "B"]))
    assert refused.value.errors == {"promo_codes": "at most 1 promo code per order"}


def test_accrual_is_on_the_order_amount_whatever_is_redeemed(program):
    """«3% от каждого заказа»: paying 200 of 1000 with bonuses still earns 30."""
    decision = decide(program, an_order("delivery", "1000.00"), redeem="200.00")
    assert (decision.accrual, decision.redeem) == (D("30.00"), D("200.00"))
    assert "redeem.requested" in rules_of(decision)


def test_redeem_max_is_offered_even_when_nothing_is_requested(program):
    decision = decide(program, an_order("delivery", "1000.00"))
    assert decision.redeem_max == D("200.00")
    assert decision.explanation[-1].message == "Бонусы списываются только по запросу гостя"


def test_redeeming_over_the_cap_is_still_decided_and_said(program):
    decision = decide(program, an_order("delivery", "1000.00"), redeem="300.00")
    assert (decision.redeem_max, decision.redeem, decision.accrual) == (
        D("200.00"), D("300.00"), D("30.00"))
    assert rules_of(decision)[-1] == "redeem.over_max"


def test_an_excluded_order_earns_on_its_whole_total_whatever_is_asked(program):
    lunch = an_order("cafe", "700.00", categories=["business_lunch"])
    assert decide(program, lunch, redeem="10.00").accrual == D("21.00")  # not 3% of 690


def test_a_redeem_with_kopecks_is_decided_and_said_not_whole(program):
    decision = decide(program, an_order("delivery", "1000.00"), redeem="10.50")
    assert (decision.redeem_max, decision.accrual) == (D("200.00"), D("30.00"))
    assert not decision.redeem_in_steps
    assert decision.explanation[-1] == (
        "redeem.not_whole", "Бонусы списываются только целыми: запрошено к списанию 10,50 бонуса")


def test_a_redeem_with_kopecks_quotes_the_accrual_of_the_whole_bonuses_it_could_spend(program):
    """Under a program of the paid amount, 10% of 989.50 is 98 bonuses, which no order earns:
    10.50 cannot be placed, and 10 (the most of it that can) earns 99."""
    paid = load_program({**program.data, "accrual_base": "paid"})
    decision = decide(paid, an_order("pickup", "1000.00"), redeem="10.50")
    assert decision.accrual == D("99.00") == decide(
        paid, an_order("pickup", "1000.00"), redeem="10").accrual


@pytest.mark.parametrize(("balance", "most"), [
    ("1", "не более 1 бонуса"), ("21", "не более 21 бонуса"), ("2", "не более 2 бонусов"),
    ("5", "не более 5 бонусов"), ("11", "не более 11 бонусов"), ("22", "не более 22 бонусов"),
])
def test_a_limit_says_the_most_in_the_genitive(program, balance, most):
    guest = GuestState(registered=True, available=D(balance))
    decision = decide(program, an_order("delivery", "1000.00"), guest, redeem="300.00")
    assert decision.explanation[-2].message.endswith(f"можно списать {most}")
    assert decision.explanation[-1].message.endswith(f"а можно {most}")


def test_a_whole_redeem_is_in_steps(program):
    assert decide(program, an_order("delivery", "1000.00"), redeem="10.00").redeem_in_steps


def test_an_anonymous_quote_shows_the_accrual_and_asks_for_a_phone(program):
    decision = decide(program, an_order("pickup", "1000.00"), None)
    assert (decision.accrual, decision.redeem_max) == (D("100.00"), D("0.00"))
    assert rules_of(decision)[-1] == "guest.anonymous"
    assert "номер телефона" in decision.explanation[-1].message


def test_an_unregistered_guest_gets_nothing_and_is_told_why(program):
    decision = decide(program, an_order("pickup", "1000.00"), GuestState(False, D("0")))
    assert (decision.accrual, decision.redeem_max) == (D("0.00"), D("0.00"))
    assert rules_of(decision) == ["guest.unregistered"]


def test_amounts_come_with_two_places(program):
    decision = decide(program, an_order("delivery", "1000"))
    assert [str(x) for x in (decision.total, decision.accrual, decision.redeem_max,
                             decision.redeem)] == ["1000.00", "30.00", "200.00", "0.00"]


def test_the_accrual_line_names_the_rule_and_its_percent(program):
    line = decide(program, an_order("pickup", "1000.00")).explanation[0]
    assert line.rule == "pickup_over_500"
    assert line.message == "Самовывоз на сумму более 500 ₽: 10% от 1000 ₽ — 100 бонусов"


def test_a_decision_names_its_program_version(program):
    assert decide(program, an_order()).version == "2024-01-01-default"


def test_delivery_needs_the_zone_minimum(program):
    with pytest.raises(ValueError, match="zone_min_order"):
        evaluate(program, an_order("delivery"), RICH, now=NOW)


def test_now_must_be_aware(program):
    with pytest.raises(ValueError, match="aware"):
        evaluate(program, an_order("pickup"), RICH, now=NOW.replace(tzinfo=None))


def test_redeem_must_be_a_non_negative_decimal(program):
    for bad in (D("-1"), 5.0, D("NaN")):
        with pytest.raises(ValueError, match="redeem"):
            evaluate(program, an_order("pickup"), RICH, redeem=bad, now=NOW)


@pytest.mark.parametrize("label", ["business_lunch", "Business_Lunch", "business-lunch ",
                                   "BUSINESS LUNCH", "Бизнес-ланч", "бизнес ланч",
                                   "Бизнес-ланчи", "бизнес–ланч"])
def test_a_business_lunch_is_recognised_however_the_till_labels_it(program, label):
    """Tills write categories their own way; each of these is the program's business lunch,
    so a cafe order holding it spends nothing and earns 3%."""
    decision = decide(program, an_order("cafe", "1000.00", categories=[label]), redeem="100")
    assert (decision.accrual, decision.redeem_max) == (D("30.00"), D("0.00"))
    assert "cafe_business_lunch" in rules_of(decision)


def test_a_label_like_no_category_of_the_program_changes_nothing(program):
    decision = decide(program, an_order("cafe", "1000.00", categories=["Бизнес-завтрак"]))
    assert decision.redeem_max == D("200.00")
