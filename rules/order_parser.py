"""Parsing a client's order strictly: every bad field named by its path, all at once."""

from decimal import Decimal

from rules.errors import OrderError
from rules.money import LIMIT, ZERO, amount_or_reason
from rules.order import CHANNELS, SOURCES, Item, Order

ORDER_KEYS = {"channel", "source", "zone", "items", "promo_codes", "discount"}
ITEM_KEYS = {"sku", "name", "category", "qty", "price"}
MAX_QTY = 1000  # a bigger quantity is a typo, not an order
MAX_TEXT = 200


def parse_order(mapping: object) -> Order:
    """An Order from a client's JSON object, or OrderError listing every bad field."""
    if not isinstance(mapping, dict):
        raise OrderError({"": "must be an object"})
    errors: dict[str, str] = {}
    _unknown_keys(mapping, ORDER_KEYS, "", errors)
    channel = _choice(mapping, "channel", CHANNELS, errors, required=True)
    source = _choice(mapping, "source", SOURCES, errors, required=False)
    zone = _zone(mapping, channel, errors)
    items = _items(mapping.get("items"), errors)
    promo_codes = _promo_codes(mapping.get("promo_codes") or [], errors)
    discount = _discount(_or_default(mapping.get("discount"), "0"), items, errors)
    if errors:
        raise OrderError(errors)
    return Order(channel, source, zone, items, promo_codes, discount)


def check_promo_codes(count: int, max_promo_codes: int) -> None:
    """Refuse an order with more promo codes than the program allows."""
    if count > max_promo_codes:
        noun = "promo code" if max_promo_codes == 1 else "promo codes"
        raise OrderError({"promo_codes": f"at most {max_promo_codes} {noun} per order"})


def _or_default(value, default):
    return default if value is None else value


def _unknown_keys(mapping: dict, known: set[str], prefix: str, errors: dict) -> None:
    if mapping.keys() <= known:
        return
    for key in mapping:
        if key not in known:
            errors[f"{prefix}{key}"] = "unknown field"


def _choice(mapping, key, choices, errors, *, required):
    value = mapping.get(key)
    if value is None and not required:
        return None
    if value not in choices or not isinstance(value, str):
        known = ", ".join(choices)
        errors[key] = "is required" if value is None else f"must be one of: {known}"
        return None
    return value


def _text(value, path, errors, *, required):
    """A non-empty string of sane length, or None when optional and absent."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        errors[path] = "is required" if value is None else "must be a non-empty string"
        return None
    return value


def _zone(mapping, channel, errors):
    zone = _text(mapping.get("zone"), "zone", errors, required=False)
    if channel == "delivery" and zone is None and "zone" not in errors:
        errors["zone"] = "is required for delivery"
    return zone


def _items(value, errors) -> tuple[Item, ...]:
    if not isinstance(value, list) or not value:
        errors["items"] = "must be a non-empty list" if value is not None else "is required"
        return ()
    items = tuple(_item(entry, f"items.{i}.", errors) for i, entry in enumerate(value))
    return items if all(items) else ()  # a refused item is None; an Item is a non-empty tuple


def _item(entry, prefix, errors) -> Item | None:
    if not isinstance(entry, dict):
        errors[prefix.rstrip(".")] = "must be an object"
        return None
    count = len(errors)
    _unknown_keys(entry, ITEM_KEYS, prefix, errors)
    sku = _text(entry.get("sku"), f"{prefix}sku", errors, required=True)
    name = _text(entry.get("name"), f"{prefix}name", errors, required=False)
    category = _text(entry.get("category"), f"{prefix}category", errors, required=False)
    qty = _qty(entry.get("qty"), f"{prefix}qty", errors)
    price = _amount(entry.get("price"), f"{prefix}price", errors)
    return Item(sku, name, category, qty, price) if len(errors) == count else None


def _qty(value, path, errors) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        errors[path] = "is required" if value is None else "must be a whole number"
    elif not 1 <= value <= MAX_QTY:
        errors[path] = f"must be at least 1 and at most {MAX_QTY}"
    else:
        return value
    return 0


def _amount(value, path, errors) -> Decimal:
    if value is None:
        errors[path] = "is required"
        return ZERO
    amount, reason = amount_or_reason(value)
    if reason:
        errors[path] = reason
    return amount


def _promo_codes(value, errors) -> tuple[str, ...]:
    """The codes as given; how many a program allows is `check_promo_codes`'s (evaluate's)."""
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        errors["promo_codes"] = "must be a list of non-empty strings"
        return ()
    return tuple(value)


def _discount(value, items, errors) -> Decimal:
    # a promo that covers the whole order is fine: the contract's total "never below 0"
    discount = _amount(value, "discount", errors)
    subtotal = sum((item.price * item.qty for item in items), ZERO)
    if subtotal - discount > LIMIT:
        errors["items"] = f"the order sum must not exceed {LIMIT}"
    return discount
