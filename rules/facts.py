"""The variables a rule's condition may read, each with its kind and how it is read."""


MONEY, COUNT, TEXT, SET = "money", "count", "text", "set"


def _local(name):
    """Time variables read the order's moment in the program's time zone."""
    return lambda order, local: getattr(local, name)


# name: (kind, getter(order, local_now)); local_now is None unless the program reads time.
VARIABLES = {
    "channel": (TEXT, lambda order, local: order.channel),
    "source": (TEXT, lambda order, local: order.source),
    "zone": (TEXT, lambda order, local: order.zone),
    "total": (MONEY, lambda order, local: order.total),
    "subtotal": (MONEY, lambda order, local: order.subtotal),
    "discount": (MONEY, lambda order, local: order.discount),
    "categories": (SET, lambda order, local: order.categories),
    "skus": (SET, lambda order, local: order.skus),
    "promo_count": (COUNT, lambda order, local: len(order.promo_codes)),
    "item_count": (COUNT, lambda order, local: sum(item.qty for item in order.items)),
    "weekday": (COUNT, lambda order, local: local.isoweekday()),
    "hour": (COUNT, _local("hour")),
}
TIME_VARIABLES = frozenset({"weekday", "hour"})

