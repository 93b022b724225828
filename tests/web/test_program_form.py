"""The draft form's knobs against the shipped program: read, written back, judged by the loader,
and the loader's refusals placed beside their knobs in Russian."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bonus_service.services import programs
from bonus_service.web import program_form

SHIPPED = Path(__file__).resolve().parents[2] / "rules" / "programs" / "2024-01-01-default.json"


@pytest.fixture
def data() -> dict:
    return json.loads(SHIPPED.read_text(encoding="utf-8"), parse_float=Decimal)


def test_the_knobs_read_what_the_shipped_program_says(data):
    values = program_form.read(data)
    assert [values[f"accrual-{i}-percent"] for i in range(3)] == ["3", "3", "10"]
    assert (values["pickup_threshold"], values["max_percent"], values["idle_months"]) == (
        "500", "20", "12")  # fmt: skip
    assert values["zone_minimum_channels"] == ["delivery"]
    assert values["exclude_promo"] and values["exclude_business_lunch"]
    assert values["category-business_lunch-label"] == "Бизнес-ланч"


def test_unticking_every_knob_still_gives_a_program_the_loader_accepts(data):
    """No zone minimum (its cap examples go with it), no exclusions: a valid program."""
    form = {"zone_minimum_channels-shown": "1", "exclusions-shown": "1"}
    knobs = program_form.write(data, form, checked=set())
    program = programs.check(knobs.values["program"])
    assert program.zone_minimum_channels == frozenset() and program.exclusions == ()
    assert program.redemption_examples == ()
    # and ticked again, they come back as the shipped program writes them
    again = program_form.write(knobs.values["program"], form,
                               {"exclude_promo", "exclude_business_lunch"})  # fmt: skip
    assert sorted(e["id"] for e in again.values["program"]["redemption"]["exclusions"]) == [
        "cafe_business_lunch", "promo_code"]  # fmt: skip


def test_the_pickup_threshold_moves_in_the_conditions_and_the_messages(data):
    knobs = program_form.write(data, {"pickup_threshold": "749,90"}, set())
    program = programs.check(knobs.values["program"])
    messages = [r.message for r in program.accrual]
    assert "самовывоз на сумму до 749,90 ₽ включительно" in messages[1]
    assert messages[2] == "Самовывоз на сумму более 749,90 ₽"
    assert program_form.pickup_threshold(knobs.values["program"]) == Decimal("749.90")
    assert data["accrual"][2]["message"] == "Самовывоз на сумму более 500 ₽"  # a copy changed


@pytest.mark.parametrize(
    ("path", "reason", "field", "message"),
    [
        (
            "program.accrual.1.percent",
            "must be a percentage between 0 and 100 (got '300')",
            "accrual-1-percent",
            program_form.PERCENT_MESSAGE,
        ),
        (
            "program.expiry.idle_months",
            "must be between 1 and 120 (got 0)",
            "idle_months",
            program_form.IDLE_MESSAGE,
        ),
        (
            "program.redemption.examples.0.channel",
            "must be a channel of zone_minimum_channels: the example shows the zone minimum",
            "zone_minimum_channels",
            "Пример показывает минимальную сумму зоны, а этот канал её не соблюдает.",
        ),
        (
            "program.rounding.mode",
            "must be one of: down, up (got 'sideways')",
            "program_json",
            "rounding.mode: допустимо только одно из значений ('sideways').",
        ),
        (
            "program.accrual.0.when",
            "unknown operator 'xor'",
            "program_json",
            "accrual.0.when: программа не принята: unknown operator 'xor'.",
        ),
    ],
)
def test_a_refusal_stands_beside_the_knob_that_shows_its_path(data, path, reason, field,
                                                              message):  # fmt: skip
    assert program_form.place({path: reason}, data) == {field: message}
