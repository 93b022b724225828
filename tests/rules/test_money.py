"""Client amounts: roubles with at most two places, nothing else."""

from decimal import Decimal

import pytest

from rules import AmountError, OrderError, parse_amount


@pytest.mark.parametrize(("value", "expected"), [
    ("349.90", "349.90"), ("349.9", "349.90"), ("0", "0.00"), ("1000", "1000.00"),
    (350, "350.00"), (0, "0.00"), (Decimal("349.9"), "349.90"), (Decimal("-0"), "0.00"),
    ("10000000.00", "10000000.00"),
])
def test_good_amounts_become_decimals_with_two_places(value, expected):
    amount = parse_amount(value, "price")
    assert isinstance(amount, Decimal)
    assert str(amount) == expected


@pytest.mark.parametrize(("value", "reason"), [
    (349.9, "not a float"),
    (True, "not bool"),
    (None, "not NoneType"),
    ([], "not list"),
    ("", "must not be empty"),
    ("abc", "is not an amount"),
    (" 5", "is not an amount"),
    ("1,50", "is not an amount"),
    ("５", "is not an amount"),
    ("NaN", "must be a finite number"),
    ("Infinity", "must be a finite number"),
    (Decimal("NaN"), "must be a finite number"),
    (Decimal("Infinity"), "must be a finite number"),
    ("1e3", "must not use exponent notation"),
    ("1E-2", "must not use exponent notation"),
    (Decimal("1E+3"), "must not use exponent notation"),
    ("0.001", "must have at most 2 decimal places"),
    (Decimal("1.005"), "must have at most 2 decimal places"),
    ("-5", "must not be negative"),
    (-5, "must not be negative"),
    (Decimal("-0.01"), "must not be negative"),
    ("10000000.01", "must not exceed 10000000.00"),
    (10**30, "must not exceed 10000000.00"),
])
def test_bad_amounts_are_refused_with_the_reason(value, reason):
    with pytest.raises(AmountError) as refused:
        parse_amount(value, "price")
    assert reason in refused.value.reason
    assert refused.value.field == "price"
    assert refused.value.errors == {"price": refused.value.reason}


def test_an_amount_error_is_an_order_error():
    with pytest.raises(OrderError):
        parse_amount("x", "redeem")
