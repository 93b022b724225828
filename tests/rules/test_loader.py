"""A bad program file is refused with the field and the reason; a good one loads whole."""

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from rules import ProgramError, load_program
from rules.book import PROGRAMS

DEFAULT = json.loads((PROGRAMS / "2024-01-01-default.json").read_text(encoding="utf-8"))
PICKUP = {"==": [{"var": "channel"}, "pickup"]}


def refusal(change) -> ProgramError:
    data = copy.deepcopy(DEFAULT)
    change(data)
    with pytest.raises(ProgramError) as refused:
        load_program(data)
    return refused.value


def setting(path: str, value):
    """A change that sets a dotted/indexed path, e.g. ("accrual", 1, "percent")."""
    *parents, last = path

    def change(data):
        for key in parents:
            data = data[key]
        data[last] = value

    return change


def test_the_default_program_loads_with_its_settings():
    program = load_program(DEFAULT)
    assert program.version == "2024-01-01-default"
    assert program.effective_from == datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=3)))
    assert program.timezone.key == "Europe/Moscow"
    assert (program.idle_months, program.month_end, program.max_promo_codes) == (12, "clamp", 1)
    assert program.data == DEFAULT


def test_the_data_is_a_copy_the_caller_cannot_change_underneath():
    data = copy.deepcopy(DEFAULT)
    program = load_program(data)
    data["accrual"][0]["percent"] = "99"
    assert program.data["accrual"][0]["percent"] == "3"


@pytest.mark.parametrize(("change", "path", "reason"), [
    (setting(("accrual", 1, "percent"), "101"), "accrual[1].percent",
     "must be a percentage between 0 and 100"),
    (setting(("accrual", 2, "percent"), "-1"), "accrual[2].percent",
     "must be a percentage between 0 and 100"),
    (setting(("redemption", "max_percent"), 20.5), "redemption.max_percent",
     "must be a percentage between 0 and 100"),
    (lambda d: d.pop("version"), "version", "is missing"),
    (setting(("version",), ""), "version", "must be a non-empty string"),
    (setting(("version",), "зима"), "version", "may hold only latin letters"),
    (setting(("effective_from",), "2024-01-01T00:00:00"), "effective_from",
     "must include a time zone offset"),
    (setting(("effective_from",), "first of January"), "effective_from",
     "is not an ISO date-time"),
    (setting(("timezone",), "Mars/Olympus"), "timezone", "unknown time zone"),
    (setting(("colour",), "red"), "colour", "unknown key"),
    (setting(("accrual", 0, "bonus"), "x"), "accrual[0].bonus", "unknown key"),
    (setting(("redemption", "exclusions", 1, "note"), "x"), "redemption.exclusions[1].note",
     "unknown key"),
    (setting(("rounding", "mode"), "sideways"), "rounding.mode", "must be one of: down, up"),
    (setting(("rounding", "quantum"), "0"), "rounding.quantum", "must be a positive amount"),
    (setting(("rounding", "quantum"), "0.001"), "rounding.quantum",
     "must be a positive amount"),
    (setting(("accrual_base",), "gross"), "accrual_base", "must be one of: paid, total"),
    (setting(("expiry", "idle_months"), 0), "expiry.idle_months", "must be between 1 and 120"),
    (setting(("expiry", "month_end"), "skip"), "expiry.month_end",
     "must be one of: clamp, roll"),
    (setting(("max_promo_codes",), True), "max_promo_codes", "must be a whole number"),
    (setting(("accrual", 0, "when"), True), "accrual[1]",
     "is never reached: accrual[0] ('cafe_business_lunch') comes first and always holds"),
    (setting(("redemption", "examples", 1), {"channel": "pickup", "total": "800.00",
                                             "zone_min_order": "700.00"}),
     "redemption.examples[1].channel", "must be a channel of zone_minimum_channels"),
    (setting(("redemption", "examples", 0), {"channel": "delivery", "total": "500.00",
                                             "zone_min_order": "500.00"}),
     "redemption.examples[0]", "allows no redemption at all"),
    (setting(("redemption", "example"), {"channel": "delivery", "total": "800.00"}),
     "redemption.example", "give either example or examples"),
    # an alias shared by two categories: an order holding it could not be told to either
    (setting(("categories", "lunch_set"), {"label": "Комплексный обед",
                                           "aliases": ["business lunch"]}),
     "categories.lunch_set.aliases[0]",
     "'business lunch' names both 'business_lunch' and 'lunch_set': a till writing it "
     "could not be told which"),
    (setting(("categories", "Business-Lunch"), "Бизнес обед"),
     "categories.Business-Lunch", "'Business-Lunch' names both 'business_lunch' and "
     "'Business-Lunch': a till writing it could not be told which"),
    (setting(("categories", "business_lunch", "aliases"), ["--"]),
     "categories.business_lunch.aliases[0]", "must hold a letter or a digit"),
    # a typo in a category would silently stop the business-lunch exclusion from applying
    (setting(("redemption", "exclusions", 0, "when", "and", 1, "in", 0), "bizlunch"),
     "redemption.exclusions[0].when.and[1].in[0]",
     "unknown category 'bizlunch': name it in categories (known: business_lunch)"),
    (setting(("redemption", "zone_minimum_channels"), ["boat"]),
     "redemption.zone_minimum_channels[0]", "must be one of: delivery"),
    # only delivery orders name a zone: a pickup "keeping the zone minimum" had none to keep
    (setting(("redemption", "zone_minimum_channels"), ["delivery", "pickup"]),
     "redemption.zone_minimum_channels[1]", "must be one of: delivery"),
    (setting(("effective_from",), "0001-01-01T00:00:00+03:00"),
     "effective_from", "must be in the years 2000..2999"),
    (setting(("effective_from",), "9999-12-31T23:00:00-03:00"),
     "effective_from", "must be in the years 2000..2999"),
    (setting(("accrual", 2, "when"), {"==": [{"var": "channel"}, "pikup"]}),
     "accrual[2].when.==[1]", "unknown channel 'pikup'"),
    (setting(("accrual", 2, "when"), {"in": [{"var": "channel"}, ["pickup", "boat"]]}),
     "accrual[2].when.in[1][1]", "unknown channel 'boat'"),
    (setting(("accrual", 2, "when"), {"equals": [{"var": "channel"}, "pickup"]}),
     "accrual[2].when", "unknown operator 'equals'"),
    (setting(("accrual", 2, "when"), {"and": [PICKUP, {">": [{"var": "totl"}, "500"]}]}),
     "accrual[2].when.and[1].>[0]", "unknown variable 'totl'"),
    (setting(("accrual", 1, "id"), "pickup_over_500"), "accrual[2].id",
     "repeats the id 'pickup_over_500'"),
    (setting(("accrual",), []), "accrual", "must be a non-empty list"),
    (setting(("accrual", 1, "example", "channel"), "pickup"), "accrual[1].example",
     "is decided by 'pickup_over_500', not by 'standard'"),
    (lambda d: d["redemption"].pop("max_percent"), "redemption.max_percent", "is missing"),
    # constants a variable can never take: a rule that would never match
    (setting(("accrual", 2, "when"), {"==": [{"var": "weekday"}, 0]}),
     "accrual[2].when.==[1]", "'weekday' is 1..7 (1 is Monday, 7 Sunday), not 0"),
    (setting(("accrual", 2, "when"), {"in": [{"var": "hour"}, [23, 24]]}),
     "accrual[2].when.in[1][1]", "'hour' is 0..23"),
    (setting(("accrual", 2, "when"), {">": [{"var": "weekday"}, 7]}),
     "accrual[2].when.>[1]", "'weekday' > 7 never holds"),
    (setting(("accrual", 2, "when"), {"in": [{"var": "weekday"}, []]}),
     "accrual[2].when.in[1]", "an empty list never holds"),
    (setting(("accrual", 1, "example", "source"), "mobile"), "accrual[1].example.source",
     "must be one of"),
    (setting(("accrual", 1, "example", "at"), "Monday 15:00"), "accrual[1].example.at",
     "is not an ISO date-time"),
    # 2024-01-01, the version's start, is a Monday: the examples need another moment
    (lambda d: d["accrual"].insert(0, {"id": "mondays", "percent": "6", "message": "Пн",
                                       "when": {"==": [{"var": "weekday"}, 1]}}),
     "accrual[1].example", "is decided by 'mondays', not by 'cafe_business_lunch' at "
     "2024-01-01 00:00 (Monday): if that is why, give the example an \"at\""),
])
def test_a_bad_program_is_refused_naming_the_field_and_reason(change, path, reason):
    error = refusal(change)
    assert error.path == path
    assert reason in error.reason
    assert f"{path}: " in str(error)


def test_a_category_may_be_a_bare_label_or_repeat_its_own_label_as_an_alias():
    data = copy.deepcopy(DEFAULT)
    data["categories"] = {"business_lunch": {"label": "Бизнес-ланч",
                                             "aliases": ["бизнес ланч", "Комбо"]},
                          "soup": "Супы"}
    program = load_program(data)
    assert program.categories == {"business_lunch": "Бизнес-ланч", "soup": "Супы"}
    assert program.category_codes["комбо"] == "business_lunch"
    assert program.category_codes["супы"] == "soup"


def test_a_file_error_names_the_file(tmp_path):
    broken = copy.deepcopy(DEFAULT)
    broken["accrual"][1]["percent"] = "300"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(ProgramError, match=r"^broken\.json: accrual\[1\]\.percent: must be"):
        load_program(path)


@pytest.mark.parametrize(("text", "reason"), [
    ('{"version": "a", "version": "b"}', "repeated key 'version'"),
    ('{"max_promo_codes": NaN}', "NaN is not allowed"),
    ("{not json", "cannot be read as JSON"),
])
def test_a_file_that_is_not_clean_json_is_refused(tmp_path, text, reason):
    path = tmp_path / "odd.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProgramError, match=reason):
        load_program(path)


def test_json_numbers_in_a_file_never_become_floats(tmp_path):
    data = copy.deepcopy(DEFAULT)
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps(data).replace('"percent": "10"', '"percent": 10.0'), "utf-8")
    program = load_program(path)
    assert str(program.accrual[2].percent) == "10.00"


def test_an_ordering_up_to_the_edge_of_the_day_or_week_loads():
    """«from 18:00 until midnight» is `hour >= 18` and `hour < 24`; `weekday > 0` is any day."""
    data = copy.deepcopy(DEFAULT)
    data["accrual"][2]["when"] = {"and": [{"<": [{"var": "hour"}, 24]},
                                          {">": [{"var": "weekday"}, 0]},
                                          data["accrual"][2]["when"]]}  # fmt: skip
    assert load_program(data).accrual[2].id == "pickup_over_500"
