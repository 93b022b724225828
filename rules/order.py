"""The order as every endpoint takes it, as frozen values the rules read."""

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

from rules.money import ZERO

CHANNELS = ("delivery", "pickup", "cafe")
ZONED_CHANNELS = ("delivery",)  # the orders that must name a delivery zone
SOURCES = ("website", "app", "call_center", "cafe_pos")


class Item(NamedTuple):
    """One menu line: `qty` portions of `sku` at `price` roubles each (a tuple: cheap to build)."""

    sku: str
    name: str | None
    category: str | None
    qty: int
    price: Decimal


@dataclass(frozen=True)
class Order:
    """What the guest ordered; `total` is what the bill says before bonuses."""

    channel: str
    source: str | None
    zone: str | None
    items: tuple[Item, ...]
    promo_codes: tuple[str, ...] = ()
    discount: Decimal = ZERO

    @cached_property
    def subtotal(self) -> Decimal:
        """Σ qty × price of the items."""
        return sum((item.price * item.qty for item in self.items), ZERO)

    @cached_property
    def total(self) -> Decimal:
        """The items less the shop's discount, never below zero."""
        return max(self.subtotal - self.discount, ZERO)

    @cached_property
    def categories(self) -> frozenset[str]:
        """The menu sections the order holds (e.g. business_lunch)."""
        return frozenset(item.category for item in self.items if item.category)

    @cached_property
    def skus(self) -> frozenset[str]:
        """The menu positions the order holds."""
        return frozenset(item.sku for item in self.items)
