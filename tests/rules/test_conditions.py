"""The condition interpreter: each operator, each variable, and refusals that name the culprit."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from rules import ProgramError
from rules.conditions import OPERATORS, compile_condition
from rules.facts import VARIABLES
from tests.support.rules_orders import an_order

MOSCOW = ZoneInfo("Europe/Moscow")
FRIDAY_EVENING = datetime(2025, 3, 14, 19, 30, tzinfo=MOSCOW)
ORDER = an_order("pickup", "600.00", categories=["business_lunch", "soup"], promo_codes=["X"],
                 discount="50.00")


def holds(condition, order=ORDER, local=FRIDAY_EVENING) -> bool:
    return compile_condition(condition, "when").test(order, local)


def var(name):
    return {"var": name}


@pytest.mark.parametrize(("condition", "expected"), [
    (True, True), (False, False),
    ({"==": [var("channel"), "pickup"]}, True),
    ({"==": ["pickup", var("channel")]}, True),
    ({"!=": [var("channel"), "pickup"]}, False),
    ({">": [var("total"), "549.99"]}, True),
    ({">": [var("total"), "550.00"]}, False),
    ({">=": [var("total"), "550"]}, True),
    ({"<": [var("total"), 551]}, True),
    ({"<=": [var("total"), "549.99"]}, False),
    ({"<": ["549.99", var("total")]}, True),
    ({"==": [var("subtotal"), "600.00"]}, True),
    ({"==": [var("discount"), "50.00"]}, True),
    ({">": [var("subtotal"), var("total")]}, True),
    ({"in": ["business_lunch", var("categories")]}, True),
    ({"in": ["dessert", var("categories")]}, False),
    ({"in": ["A-1", var("skus")]}, True),
    ({"in": [var("channel"), ["pickup", "cafe"]]}, True),
    ({"in": [var("zone"), ["north"]]}, False),
    ({"==": [var("promo_count"), 1]}, True),
    ({"==": [var("item_count"), 2]}, True),
    ({"==": [var("source"), "app"]}, False),
    ({"==": [var("weekday"), 5]}, True),
    ({">=": [var("hour"), 19]}, True),
    ({"and": [{"==": [var("channel"), "pickup"]}, {">": [var("total"), "500"]}]}, True),
    ({"and": [{"==": [var("channel"), "pickup"]}, False]}, False),
    ({"or": [False, {"==": [var("channel"), "pickup"]}]}, True),
    ({"or": [False, False]}, False),
    ({"not": {"==": [var("channel"), "cafe"]}}, True),
    ({"not": [True]}, False),
])
def test_each_operator_and_variable_decides_as_written(condition, expected):
    assert holds(condition) is expected


def test_every_operator_and_variable_is_exercised():
    assert set(OPERATORS) == {"and", "or", "not", "==", "!=", "<", "<=", ">", ">=", "in"}
    assert set(VARIABLES) == {"channel", "source", "zone", "total", "subtotal", "discount",
                              "categories", "skus", "promo_count", "item_count", "weekday",
                              "hour"}


def test_a_condition_reports_the_variables_it_reads():
    condition = compile_condition({"and": [{"==": [var("weekday"), 6]},
                                           {"in": ["x", var("skus")]}]}, "when")
    assert condition.variables == {"weekday", "skus"}


@pytest.mark.parametrize(("condition", "path", "reason"), [
    ({"equals": [1, 2]}, "when", "unknown operator 'equals'"),
    ({"==": [var("chanel"), "cafe"]}, "when.==[0]", "unknown variable 'chanel'"),
    ({"==": [{"vars": "channel"}, "cafe"]}, "when.==[0]", "an argument must be a constant"),
    ({"==": [var("channel"), "boat"]}, "when.==[1]", "unknown channel 'boat'"),
    ({"==": [var("source"), "fax"]}, "when.==[1]", "unknown source 'fax'"),
    ({"==": [1, 1]}, "when.==", "compares two constants"),
    ({"==": [var("channel")]}, "when.==", "takes exactly 2 arguments"),
    ({">": [var("channel"), "a"]}, "when.>[1]", "needs numbers or amounts"),
    ({">": [var("total"), "5.001"]}, "when.>[1]", "must have at most 2 decimal places"),
    ({">": [var("total"), 5.5]}, "when.>[1]", "not a float"),
    ({">": [var("promo_count"), "1"]}, "when.>[1]", "compared with whole numbers"),
    ({"==": [var("categories"), "soup"]}, "when.==[1]", "is a set: use 'in'"),
    ({"==": [var("total"), var("channel")]}, "when.==", "cannot compare 'total'"),
    ({"in": [var("categories"), "soup"]}, "when.in", "expects"),
    ({"in": [1, var("categories")]}, "when.in", "holds strings"),
    ({"and": []}, "when.and", "must be a non-empty list"),
    ({"and": [True, {"or": [{"nope": 1}]}]}, "when.and[1].or[0]", "unknown operator 'nope'"),
    ({"not": [True, False]}, "when.not", "takes exactly one condition"),
    ({"==": [1, 2], "!=": [1, 2]}, "when", "one operator"),
    ("yes", "when", "must be true, false or an object"),
])
def test_a_bad_condition_is_a_load_error_naming_it(condition, path, reason):
    with pytest.raises(ProgramError) as refused:
        compile_condition(condition, "when")
    assert refused.value.path == path
    assert reason in refused.value.reason
