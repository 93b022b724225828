"""The quote's answer is written out for speed; it must stay what QuoteOut (the spec) dumps."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

import rules
from bonus_service.api.checkout import quote_answer
from bonus_service.schemas import QuoteOut
from bonus_service.services.checkout import Balance, _decide

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ITEMS = [
    {"sku": "B-101", "name": "Борщ", "category": "soup", "qty": 2, "price": "290.00"},
    {"sku": "D-4", "category": "drinks", "qty": 3, "price": "120.05"},
]


@pytest.fixture(scope="module")
def program():
    return rules.load_book().in_force(NOW)


@pytest.mark.parametrize(
    ("phone", "guest", "channel", "redeem"),
    [
        (None, None, "pickup", "0"),  # anonymous
        ("+79120000001", None, "pickup", "0"),  # not registered
        ("+79120000002", Balance(1, 100_000, 0), "pickup", "0"),  # capped by the percentage
        ("+79120000003", Balance(2, 1_234, 0), "cafe", "5.00"),  # capped by the balance
        ("+79120000004", Balance(3, 10_000_000, 9_999_950), "pickup", "250.00"),  # over the cap
        ("+79120000005", Balance(4, 0, 0), "cafe", "0"),  # nothing to spend
    ],
)
def test_the_written_out_answer_is_the_schemas_dump(program, phone, guest, channel, redeem):
    order = rules.parse_order({"channel": channel, "items": ITEMS})
    quoted = _decide(program, phone, guest, order, Decimal(redeem), None, NOW)
    answer = quote_answer(quoted)
    fast, schema = QuoteOut.fast_dump(answer), QuoteOut().dump(answer)
    assert fast == schema
    assert list(fast) == list(schema)  # the same key order, so the same bytes
    assert [list(reason) for reason in fast["explanation"]] == [
        list(reason) for reason in schema["explanation"]
    ]


def test_every_field_of_the_schema_is_written(program):
    order = rules.parse_order({"channel": "pickup", "items": ITEMS})
    answer = quote_answer(_decide(program, None, None, order, Decimal(0), None, NOW))
    assert set(QuoteOut.fast_dump(answer)) == set(QuoteOut().fields)
