"""A program version: its data as published and its rules compiled for evaluation."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from rules.categories import normalise
from rules.decision import Explanation
from rules.order import Item, Order

Test = Callable[[Order, datetime | None], bool]


@dataclass(frozen=True, eq=False)
class AccrualRule:
    """Orders matching `test` earn `percent` of the accrual base."""

    id: str
    test: Test
    percent: Decimal
    share: Decimal  # percent / 100, computed once
    message: str
    when: object  # the condition as written, for the published text
    example: Mapping | None


@dataclass(frozen=True, eq=False)
class Exclusion:
    """Orders matching `test` spend no bonuses; `explanation` says why."""

    id: str
    test: Test
    when: object
    explanation: Explanation


@dataclass(frozen=True, eq=False)
class Program:
    """One version of the bonus program; `data` is the file as loaded, for GET /v1/rules."""

    version: str
    effective_from: datetime
    data: dict
    timezone: ZoneInfo
    title: str
    accrual: tuple[AccrualRule, ...]
    accrual_base: str
    max_percent: Decimal
    cap_share: Decimal
    zone_minimum_channels: frozenset[str]
    exclusions: tuple[Exclusion, ...]
    redemption_examples: tuple[Mapping, ...]
    max_promo_codes: int
    quantum: Decimal
    rounding_mode: str
    round_accrual: Callable[[Decimal], Decimal]
    round_cap: Callable[[Decimal], Decimal]
    idle_months: int
    month_end: str
    cancelled_orders: str  # "ignore": a cancelled order stops being the last order; "count"
    open_orders: str  # "wait": an open order keeps the balance from burning; "burn"
    open_order_hours: int  # for how long after its placing, under "wait"
    categories: Mapping[str, str]  # code → published label
    category_codes: Mapping[str, str]  # normalised code, label or alias → code
    uses_time: bool

    def recognise(self, order: Order) -> Order:
        """The order with each item's category as the program's code (`Business_Lunch`,
        «Бизнес-ланч» → `business_lunch`), so that a condition naming the code sees it; the
        order itself when every category already is a code or unknown."""
        codes = self.category_codes
        for label in order.categories:  # the usual order: every label already a code
            if codes.get(normalise(label), label) != label:
                break
        else:
            return order
        items = tuple(item._replace(category=codes.get(normalise(item.category), item.category))
                      if item.category else item for item in order.items)
        return replace(order, items=items)

    def accrual_rule(self, order: Order, local: datetime | None) -> AccrualRule | None:
        """The first accrual rule whose condition holds, or None."""
        for rule in self.accrual:
            if rule.test(order, local):
                return rule
        return None


def example_order(example: Mapping) -> Order:
    """A one-line order standing for a worked example in the rules ({"channel", "total", ...})."""
    categories = example.get("categories") or [None]
    items = [Item("EXAMPLE", None, categories[0], 1, Decimal(example["total"]))]
    items += [Item(f"EXAMPLE-{c}", None, c, 1, Decimal("0.00")) for c in categories[1:]]
    zone = "example" if example["channel"] == "delivery" else None
    return Order(example["channel"], example.get("source"), zone, tuple(items), (),
                 Decimal("0.00"))


def example_moment(program: Program, example: Mapping) -> datetime:
    """When a worked example is placed: its "at" (a local time of the program's zone), else the
    version's start. A rule for Mondays or for 15:00–17:00 needs an example at such a time, and
    the other rules' examples a time outside it."""
    at = example.get("at")
    if at is None:
        return program.effective_from
    moment = datetime.fromisoformat(at)
    return moment.replace(tzinfo=program.timezone) if moment.tzinfo is None else moment
