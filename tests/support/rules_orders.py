"""Orders, guests and moments the rules tests share."""

from datetime import UTC, datetime
from decimal import Decimal

from rules import GuestState, parse_order

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
RICH = GuestState(registered=True, available=Decimal("100000.00"))


def an_order(channel="delivery", total="1000.00", *, categories=(), promo_codes=(),
             discount=None, zone="north"):
    """An order of one line costing `total` (plus free lines for extra categories)."""
    first = categories[0] if categories else "main"
    items = [{"sku": "A-1", "category": first, "qty": 1, "price": str(total)}]
    items += [{"sku": f"C-{c}", "category": c, "qty": 1, "price": "0"} for c in categories[1:]]
    payload = {"channel": channel, "items": items, "promo_codes": list(promo_codes)}
    if channel == "delivery":
        payload["zone"] = zone
    if discount is not None:
        payload["discount"] = discount
    return parse_order(payload)
