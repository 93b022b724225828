"""Properties of the default program over random orders, balances and zone minimums."""

from decimal import ROUND_DOWN, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import GuestState, Item, Order, evaluate, load_program
from rules.categories import normalise
from tests.support.rules_orders import NOW

CENTS = st.integers(min_value=0, max_value=500_000).map(lambda c: Decimal(c) / 100)
ITEMS = st.lists(st.builds(Item, sku=st.sampled_from(["A", "B", "C"]), name=st.none(),
                           category=st.sampled_from([None, "main", "business_lunch",
                                                     "Business_Lunch", "business-lunch ",
                                                     "Бизнес-ланч", "БИЗНЕС ЛАНЧ"]),
                           qty=st.integers(1, 5), price=CENTS), min_size=1, max_size=5)


@st.composite
def orders(draw) -> Order:
    channel = draw(st.sampled_from(["delivery", "pickup", "cafe"]))
    items = tuple(draw(ITEMS))
    subtotal = sum(item.price * item.qty for item in items)
    discount = draw(st.integers(0, int(subtotal * 100))) / Decimal(100)
    codes = tuple(draw(st.lists(st.just("PROMO"), max_size=1)))
    zone = "north" if channel == "delivery" else None
    return Order(channel, None, zone, items, codes, discount.quantize(Decimal("0.01")))


def has_lunch(order: Order) -> bool:
    """A business lunch however the till labels it, as the contract's normalisation says."""
    return any(normalise(c) in ("business_lunch", "бизнес_ланч") for c in order.categories)


def whole(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(1), ROUND_DOWN)


@settings(max_examples=500, deadline=None)
@given(order=orders(), available=CENTS, zone_min=CENTS, redeem=CENTS)
def test_redeem_max_respects_every_limit(program, order, available, zone_min, redeem):
    decision = evaluate(program, order, GuestState(True, available), redeem=redeem,
                        zone_min_order=zone_min, now=NOW)
    total = order.total
    assert 0 <= decision.redeem_max <= total * Decimal("0.2")
    assert decision.redeem_max <= available
    if order.channel == "delivery":
        assert decision.redeem_max <= max(total - zone_min, 0)
    if order.promo_codes or (order.channel == "cafe" and has_lunch(order)):
        assert decision.redeem_max == 0


@settings(max_examples=500, deadline=None)
@given(order=orders(), available=CENTS, zone_min=CENTS, redeem=CENTS)
def test_amounts_are_whole_bonuses_and_accrual_at_most_10_percent(program, order, available,
                                                                   zone_min, redeem):
    decision = evaluate(program, order, GuestState(True, available), redeem=redeem,
                        zone_min_order=zone_min, now=NOW)
    assert 0 <= decision.accrual <= order.total * Decimal("0.1")
    for amount in (decision.accrual, decision.redeem_max):
        assert amount == whole(amount)
        assert amount.as_tuple().exponent == -2


@settings(max_examples=500, deadline=None)
@given(order=orders(), available=CENTS, zone_min=CENTS)
def test_the_interpreter_agrees_with_the_contract_written_out(program, order, available,
                                                              zone_min):
    redeem_cap = min(order.total * Decimal("0.2"), available)
    if order.channel == "delivery":
        redeem_cap = min(redeem_cap, order.total - zone_min)
    lunch = order.channel == "cafe" and has_lunch(order)
    if order.promo_codes or lunch:
        redeem_cap = Decimal(0)
    redeem = whole(max(redeem_cap, Decimal(0)))
    percent = Decimal("0.10") if order.channel == "pickup" and order.total > 500 else Decimal(
        "0.03")
    decision = evaluate(program, order, GuestState(True, available), redeem=redeem,
                        zone_min_order=zone_min, now=NOW)
    assert decision.redeem_max == redeem
    assert decision.accrual == whole(order.total * percent)


@settings(max_examples=300, deadline=None)
@given(order=orders(), redeem=CENTS)
def test_accrual_does_not_depend_on_the_redeemed_amount_under_the_default_program(
        program, order, redeem):
    """«3% от каждого заказа», «10% от суммы заказа»: spending bonuses keeps the accrual."""
    guest = GuestState(True, Decimal("100000.00"))
    nothing, spent = (evaluate(program, order, guest, redeem=amount, zone_min_order=Decimal(0),
                               now=NOW) for amount in (Decimal(0), redeem))
    assert spent.accrual == nothing.accrual


@settings(max_examples=300, deadline=None)
@given(order=orders(), redeem=st.integers(1, 5_000).map(Decimal))
def test_under_a_program_of_the_paid_amount_spending_lowers_the_accrual(program, order, redeem):
    paid = load_program({**program.data, "accrual_base": "paid"})
    guest = GuestState(True, Decimal("100000.00"))
    decisions = [evaluate(paid, order, guest, redeem=amount, zone_min_order=Decimal(0), now=NOW)
                 for amount in (Decimal(0), redeem)]
    spendable = min(redeem, decisions[1].redeem_max)
    rule = paid.accrual_rule(paid.recognise(order), None)
    assert decisions[1].accrual == whole((order.total - spendable) * rule.share)
    if whole(order.total * rule.share) - whole((order.total - spendable) * rule.share):
        assert decisions[1].accrual < decisions[0].accrual


@settings(max_examples=200, deadline=None)
@given(order=orders(), zone_min=CENTS)
def test_guests_without_registration_never_redeem(program, order, zone_min):
    for guest in (None, GuestState(False, Decimal("1000"))):
        decision = evaluate(program, order, guest, zone_min_order=zone_min, now=NOW)
        assert decision.redeem_max == 0
    unregistered = evaluate(program, order, GuestState(False, Decimal(0)),
                            zone_min_order=zone_min, now=NOW)
    assert unregistered.accrual == 0
