"""Every worked example of the published rules, end to end over HTTP: quote, place, complete."""

import pytest

from tests.support.http import bearer
from tests.support.phones import new_phone
from tests.support.shop import cafe, delivery, pickup


def _earn(shop, order, expected_accrual):
    phone, token = shop.guest()
    quote = shop.quote(order, phone).get_json()
    assert quote["accrual"] == expected_accrual
    placed = shop.place(phone, order)
    assert placed.status_code == 201, placed.get_json()
    completed = shop.complete(placed.get_json()["id"])
    assert completed.get_json()["accrued"] == expected_accrual
    assert shop.me(token)["balance"] == expected_accrual


def test_delivery_of_1000_earns_30(shop):
    _earn(shop, delivery("1000.00"), "30.00")


def test_pickup_of_1000_earns_100(shop):
    _earn(shop, pickup("1000.00"), "100.00")


def test_pickup_of_exactly_500_earns_3_percent(shop):
    _earn(shop, pickup("500.00"), "15.00")


def test_pickup_just_over_500_earns_10_percent(shop):
    _earn(shop, pickup("500.01"), "50.00")


def test_a_cafe_order_earns_3_percent(shop):
    _earn(shop, cafe("999.00"), "29.00")


def test_delivery_of_800_in_a_zone_with_minimum_500_redeems_at_most_160(shop):
    phone, token = shop.guest("1000")
    quote = shop.quote(delivery("800.00"), phone).get_json()
    assert quote["redeem_max"] == "160.00"
    placed = shop.place(phone, delivery("800.00"), redeem="160", token=token)
    assert placed.status_code == 201
    assert placed.get_json()["available"] == "840.00"
    completed = shop.complete(placed.get_json()["id"]).get_json()
    # accrual on the order amount: 3% of 800 = 24, whatever bonuses paid
    assert completed["accrued"] == "24.00"
    assert shop.me(token)["balance"] == "864.00"


def test_delivery_of_550_with_minimum_500_redeems_at_most_50(shop):
    phone, _ = shop.guest("1000")
    assert shop.quote(delivery("550.00"), phone).get_json()["redeem_max"] == "50.00"


def test_pickup_and_cafe_redeem_20_percent_without_a_zone_limit(shop):
    phone, _ = shop.guest("1000")
    assert shop.quote(pickup("300.00"), phone).get_json()["redeem_max"] == "60.00"
    assert shop.quote(cafe("300.00"), phone).get_json()["redeem_max"] == "60.00"


def test_a_business_lunch_in_the_cafe_earns_3_percent_and_redeems_nothing(shop):
    phone, _ = shop.guest("1000")
    quote = shop.quote(cafe("1000.00", "business_lunch"), phone).get_json()
    assert (quote["accrual"], quote["redeem_max"]) == ("30.00", "0.00")
    assert any("бизнес-ланч" in e["message"].lower() for e in quote["explanation"])


def test_a_promo_code_accrues_but_redeems_nothing(shop):
    phone, token = shop.guest("1000")
    order = pickup("1000.00", promo_codes=["AUTUMN"], discount="100.00")
    quote = shop.quote(order, phone).get_json()
    assert (quote["total"], quote["accrual"], quote["redeem_max"]) == ("900.00", "90.00", "0.00")
    assert "Оплата бонусами недоступна: в заказе есть промокод" in [
        e["message"] for e in quote["explanation"]
    ]
    refused = shop.place(phone, order, redeem="10", token=token)
    assert refused.status_code == 422
    assert refused.get_json()["redeem_max"] == "0.00"


def test_two_promo_codes_are_refused(shop):
    response = shop.quote(pickup("1000.00", promo_codes=["A", "B"]))
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"order.promo_codes"}


def test_an_unknown_phone_is_served_with_zero_bonuses_and_the_reason(shop):
    phone = new_phone()
    quote = shop.quote(delivery("1000.00"), phone).get_json()
    assert (quote["accrual"], quote["redeem_max"], quote["available"]) == ("0.00", "0.00", "0.00")
    assert quote["explanation"][0]["rule"] == "guest.unregistered"
    placed = shop.place(phone, delivery("1000.00"))
    assert placed.status_code == 201
    assert placed.get_json()["balance"] is None
    assert shop.complete(placed.get_json()["id"]).get_json()["accrued"] == "0.00"


@pytest.mark.parametrize(("typed", "stored"), [
    ("+375 29 123-45-67", "+375291234567"),  # abroad: not a country that may register
    ("8 495 123-45-67", "+74951234567"),  # a Moscow landline: no SMS would reach it
    ("8 800 555-35-35", "+78005553535"),  # toll-free: a company's order
])  # fmt: skip
def test_a_phone_that_cannot_register_still_orders_with_zero_bonuses(shop, typed, stored):
    """Such a phone was 422 on quote and order, so the till could not sell at all; the
    contract serves an unknown phone with zero bonuses and the reason."""
    quote = shop.quote(pickup("1000.00"), typed).get_json()
    assert (quote["accrual"], quote["redeem_max"]) == ("0.00", "0.00")
    assert quote["explanation"][0]["rule"] == "guest.unregistered"
    placed = shop.place(typed, pickup("1000.00"))
    assert placed.status_code == 201, placed.get_json()
    assert shop.complete(placed.get_json()["id"]).get_json()["accrued"] == "0.00"
    order = shop.client.get(f"/v1/orders/{placed.get_json()['id']}",
                            headers=bearer(shop.checkout, None))  # fmt: skip
    assert order.get_json()["phone"] == stored


@pytest.mark.parametrize("typed", ["12345", "8 912 345 67 8", "+7 912 345 67 89 01 23", "phone"])
def test_a_number_no_phone_can_have_is_still_refused_naming_the_phone(shop, typed):
    for answer in (shop.quote(pickup("100.00"), typed), shop.place(typed, pickup("100.00"))):
        assert answer.status_code == 422
        assert [e["field"] for e in answer.get_json()["errors"]] == ["phone"]


def test_a_quote_without_a_phone_shows_what_the_order_would_earn(shop):
    quote = shop.quote(pickup("1000.00")).get_json()
    assert (quote["accrual"], quote["redeem_max"]) == ("100.00", "0.00")


def test_accrual_is_on_the_order_amount_whatever_is_redeemed(shop):
    phone, _ = shop.guest("1000")
    quote = shop.quote(delivery("1000.00"), phone, redeem="200").get_json()
    assert quote["accrual"] == "30.00"


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("12.345", "decimal"),
        ("-5", "negative"),
        ("1e3", "exponent"),
        ("NaN", "number"),
    ],
)
def test_bad_amounts_are_refused_naming_the_field(shop, amount, reason):
    response = shop.quote(pickup(amount))
    assert response.status_code == 422
    fields = {e["field"]: e["reason"] for e in response.get_json()["errors"]}
    assert "order.items.0.price" in fields


def test_a_json_number_amount_is_read_exactly(shop):
    order = {"channel": "pickup", "items": [{"sku": "A", "qty": 3, "price": 349.9}]}
    assert shop.quote(order).get_json()["total"] == "1049.70"


def test_an_exponent_amount_is_refused(shop):
    response = shop.client.post(
        "/v1/quote",
        data=b'{"order": {"channel": "pickup", "items": [{"sku": "A", "qty": 1, "price": 1e3}]}}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop.checkout}"},
    )
    assert response.status_code == 422
    reasons = {e["field"]: e["reason"] for e in response.get_json()["errors"]}
    assert "exponent" in reasons["order.items.0.price"], reasons


def test_delivery_to_an_unknown_zone_is_refused(shop):
    response = shop.quote(delivery("1000.00", zone="mars"))
    assert response.status_code == 422
    assert "order.zone" in {e["field"] for e in response.get_json()["errors"]}


def test_delivery_without_a_zone_is_refused(shop):
    response = shop.quote({"channel": "delivery", "items": [{"sku": "A", "qty": 1, "price": "1"}]})
    assert response.status_code == 422
    assert "order.zone" in {e["field"] for e in response.get_json()["errors"]}
