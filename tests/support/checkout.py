"""For tests that call the checkout verbs directly, below HTTP: a client to own the orders,
and orders as the verbs take them."""

from __future__ import annotations

from sqlalchemy import select

import rules
from bonus_service.clock import utcnow
from bonus_service.credentials import create_client
from bonus_service.models import ApiClient
from rules.money import money


def checkout_client(session, name: str = "test") -> int:
    """A checkout client's id: an order belongs to a client."""
    create_client(session, name, ["checkout"], utcnow())
    return session.scalar(select(ApiClient.id).where(ApiClient.name == name))


def make_order(channel: str, total: int, lunch: bool) -> rules.Order:
    """An order of one line costing `total` kopecks (a business lunch if `lunch`); a delivery
    goes to the zone "north"."""
    item = {"sku": "M-1", "qty": 1, "price": str(money(total))}
    if lunch:
        item["category"] = "business_lunch"
    order = {"channel": channel, "items": [item]}
    if channel == "delivery":
        order["zone"] = "north"
    return rules.parse_order(order)
