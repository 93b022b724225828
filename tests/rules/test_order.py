"""Parsing the order every endpoint takes: strict, and every problem named by its path."""

from decimal import Decimal

import pytest

from rules import Item, Order, OrderError, parse_order


def payload(**changes):
    order = {"channel": "delivery", "source": "website", "zone": "north",
             "items": [{"sku": "B-101", "name": "Бизнес-ланч №1", "category": "business_lunch",
                        "qty": 2, "price": "350.00"},
                       {"sku": "D-1", "qty": 1, "price": Decimal("49.9")}],
             "promo_codes": ["AUTUMN"], "discount": "50.00"}
    order.update(changes)
    return order


def errors_of(order, **options) -> dict:
    with pytest.raises(OrderError) as refused:
        parse_order(order, **options)
    return refused.value.errors


def test_a_good_order_parses_into_frozen_values():
    order = parse_order(payload())
    assert order == Order("delivery", "website", "north", (
        Item("B-101", "Бизнес-ланч №1", "business_lunch", 2, Decimal("350.00")),
        Item("D-1", None, None, 1, Decimal("49.90"))), ("AUTUMN",), Decimal("50.00"))
    assert (order.subtotal, order.total) == (Decimal("749.90"), Decimal("699.90"))
    assert order.categories == {"business_lunch"}
    assert order.skus == {"B-101", "D-1"}


def test_optional_fields_take_their_defaults():
    order = parse_order({"channel": "pickup", "items": [{"sku": "X", "qty": 1, "price": 5}]})
    assert (order.source, order.zone, order.promo_codes, order.discount) == (
        None, None, (), Decimal("0.00"))


def test_discount_equal_to_the_sum_gives_a_zero_total():
    order = parse_order(payload(discount="749.90"))
    assert order.total == Decimal("0.00")


def test_discount_over_the_sum_gives_a_zero_total_as_the_contract_says():
    """«total = Σ qty × price − discount (never below 0)»: a promo covering the whole order
    was refused (422), so a shop could not quote or place it."""
    assert parse_order(payload(discount="750.00")).total == Decimal("0.00")


def test_delivery_without_a_zone_is_refused():
    assert errors_of(payload(zone=None)) == {"zone": "is required for delivery"}


def test_an_order_without_items_is_refused():
    assert errors_of(payload(items=[])) == {"items": "must be a non-empty list"}


@pytest.mark.parametrize(("qty", "reason"), [
    (0, "must be at least 1 and at most 1000"), (-1, "must be at least 1 and at most 1000"),
    (1.0, "must be a whole number"), (True, "must be a whole number"),
    ("2", "must be a whole number"), (Decimal("2"), "must be a whole number"),
    (None, "is required"),
])
def test_a_quantity_must_be_a_whole_number_of_at_least_one(qty, reason):
    order = payload(items=[{"sku": "A", "qty": qty, "price": "1.00"}])
    assert errors_of(order) == {"items.0.qty": reason}


def test_every_problem_is_reported_at_once_by_its_path():
    order = {"channel": "boat", "source": "fax", "colour": "red", "discount": "-1",
             "promo_codes": "AUTUMN",
             "items": [{"sku": "", "qty": 0, "price": "1.001", "size": "XL"}, "soup"]}
    assert errors_of(order) == {
        "colour": "unknown field",
        "channel": "must be one of: delivery, pickup, cafe",
        "source": "must be one of: website, app, call_center, cafe_pos",
        "items.0.size": "unknown field",
        "items.0.sku": "must be a non-empty string",
        "items.0.qty": "must be at least 1 and at most 1000",
        "items.0.price": "must have at most 2 decimal places",
        "items.1": "must be an object",
        "promo_codes": "must be a list of non-empty strings",
        "discount": "must not be negative",
    }


def test_a_missing_channel_and_price_are_required():
    errors = errors_of({"items": [{"sku": "A", "qty": 1}]})
    assert errors == {"channel": "is required", "items.0.price": "is required"}


def test_an_order_that_is_not_an_object_is_refused():
    assert errors_of(["delivery"]) == {"": "must be an object"}


def test_the_error_message_lists_every_path():
    with pytest.raises(OrderError, match=r"zone: is required for delivery"):
        parse_order(payload(zone=None))


def test_an_absurd_order_sum_is_refused():
    order = payload(items=[{"sku": "A", "qty": 1000, "price": "10000000.00"}], discount="0")
    assert errors_of(order) == {"items": "the order sum must not exceed 10000000.00"}
