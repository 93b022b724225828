"""A condition told in Russian, so the published text follows the data it is computed from."""

from collections.abc import Mapping
from decimal import Decimal

from rules.conditions import EQUALITY, MIRRORED, ORDERING, category_named
from rules.russian import CHANNEL_ORDERS, ON_WEEKDAYS, SOURCE_ORDERS, WEEKDAYS, rub

LABELS = {"total": "сумма заказа", "subtotal": "сумма блюд без скидки", "discount": "скидка",
          "promo_count": "число промокодов", "item_count": "число блюд",
          "weekday": "день недели", "hour": "час заказа", "zone": "зона доставки",
          "channel": "способ заказа", "source": "источник заказа"}
WORDS = {">": ("более", ""), ">=": ("не менее", ""), "<": ("менее", ""),
         "<=": ("до", " включительно"), "==": ("ровно", ""), "!=": ("не", "")}
MONEY = {"total", "subtotal", "discount"}


def describe(node: object, categories: Mapping[str, str]) -> str:
    """A compiled-valid condition as a Russian phrase (a group nested in another is bracketed)."""
    if isinstance(node, bool):
        return "любой заказ" if node else "ни один заказ"
    op, args = next(iter(node.items()))
    if op == "and" and (fused := _one_kind_of_order(args, categories)) is not None:
        return fused
    if op == "and" and (hours := _hours(args)) is not None:
        return hours
    if op == "and":
        return " и ".join(_grouped(arg, categories) for arg in args)
    if op == "or":
        parts = [_grouped(arg, categories) for arg in args]
        return ", ".join(parts[:-1]) + f" или {parts[-1]}" if len(parts) > 1 else parts[0]
    if op == "not":
        inner = args[0] if isinstance(args, list) else args
        if (needle := category_named(inner)) is not None:
            return f"в заказе нет блюда из раздела «{categories.get(needle, needle)}»"
        return f"не {_grouped(inner, categories)}"
    if op == "in":
        return _membership(args, categories)
    return _comparison(op, args)


def _grouped(node: object, categories: Mapping[str, str]) -> str:
    text = describe(node, categories)
    nested = isinstance(node, dict) and next(iter(node)) in ("and", "or")
    fused = nested and "and" in node and _one_kind_of_order(node["and"], categories) is not None
    return f"({text})" if nested and not fused else text


def _one_kind_of_order(parts: list, categories: Mapping[str, str]) -> str | None:
    """"заказ на самовывоз на сумму более 500 ₽", "заказ в кафе с блюдом из раздела «…»": a
    channel and what its total or items must be, read as one kind of order (no brackets)."""
    channel, *rest = parts
    if not (isinstance(channel, dict) and "==" in channel and rest):
        return None
    left, right = channel["=="]
    if left != {"var": "channel"} or right not in CHANNEL_ORDERS:
        return None
    qualifiers = []
    for part in rest:
        if (needle := category_named(part)) is not None:
            qualifiers.append(f"с блюдом из раздела «{categories.get(needle, needle)}»")
        elif isinstance(part, dict) and (op := next(iter(part))) in WORDS and op != "!=" \
                and part[op][0] == {"var": "total"} and not isinstance(part[op][1], dict):
            word, tail = WORDS[op]
            amount = "" if op == "==" else f"{word} "
            qualifiers.append(f"на сумму {amount}{_value('total', part[op][1])}{tail}")
        else:
            return None
    return f"{CHANNEL_ORDERS[right]} {' и '.join(qualifiers)}"


def _hour_bound(part: object) -> tuple[int | None, int | None] | None:
    """An hour comparison as the hours it allows, [from, until): `hour >= 15` → (15, None)."""
    if not (isinstance(part, dict) and (op := next(iter(part))) in WORDS):
        return None
    left, right = part[op]
    if not isinstance(left, dict):
        left, right, op = right, left, MIRRORED[op]
    if left != {"var": "hour"} or not isinstance(right, int):
        return None
    return {">=": (right, None), ">": (right + 1, None), "<": (None, right),
            "<=": (None, right + 1), "==": (right, right + 1)}.get(op)


def _hours(parts: list) -> str | None:
    """«заказ с 15:00 до 17:00»: hour bounds joined by `and`, read as one span of the day."""
    bounds = [_hour_bound(part) for part in parts]
    if None in bounds:
        return None
    starts = [start for start, _ in bounds if start is not None]
    ends = [end for _, end in bounds if end is not None]
    start, end = (max(starts) if starts else None), (min(ends) if ends else None)
    return "заказ" + (f" с {start}:00" if start is not None else "") + (
        f" до {end}:00" if end is not None else "")


def _weekdays(op: str, value: int) -> str:
    """«заказ в субботу или в воскресенье»: the days a weekday comparison allows."""
    compare = {**ORDERING, **EQUALITY}[op]
    return _on_days([day for day in range(1, 8) if compare(day, value)])


def _on_days(days: list[int]) -> str:
    """«заказ в субботу или в воскресенье» (the loader refuses a condition no day passes)."""
    said = [ON_WEEKDAYS[day] for day in days]
    if not said:
        return "ни один заказ"
    return "заказ " + (", ".join(said[:-1]) + " или " + said[-1] if len(said) > 1 else said[0])


def _comparison(op: str, args: list) -> str:
    left, right = args
    if not isinstance(left, dict):
        left, right, op = right, left, MIRRORED[op]
    name = left["var"]
    if name == "weekday" and isinstance(right, int) and 1 <= right <= 7:
        return _weekdays(op, right)
    if name == "hour" and (told := _hours([{op: [left, right]}])) is not None:
        return told
    if isinstance(right, dict):
        return f"{LABELS.get(name, name)} {op} {LABELS.get(right['var'], right['var'])}"
    if name in ("channel", "source") and op in ("==", "!="):
        phrase = {**CHANNEL_ORDERS, **SOURCE_ORDERS}[right]
        return phrase if op == "==" else f"не {phrase}"
    if name == "promo_count" and (op, right) in ((">", 0), (">=", 1)):
        return "в заказе есть промокод"
    if isinstance(right, str) and op in ("==", "!="):  # a zone's code, say: no "ровно"
        return f"{LABELS.get(name, name)} {'' if op == '==' else 'не '}{_value(name, right)}"
    word, tail = WORDS[op]
    return f"{LABELS.get(name, name)} {word} {_value(name, right)}{tail}"


def _value(name: str, value: object) -> str:
    if name in MONEY:
        return f"{rub(Decimal(value))} ₽"
    if name == "weekday" and isinstance(value, int) and 1 <= value <= 7:
        return WEEKDAYS[value]
    return f"«{value}»" if isinstance(value, str) else str(value)


def _membership(args: list, categories: Mapping[str, str]) -> str:
    needle, haystack = args
    if isinstance(haystack, dict):
        if haystack["var"] == "categories":
            return f"в заказе есть блюдо из раздела «{categories.get(needle, needle)}»"
        return f"в заказе есть позиция {needle}"
    name = needle["var"]
    phrases = {**CHANNEL_ORDERS, **SOURCE_ORDERS}
    if name in ("channel", "source"):
        return " или ".join(phrases[value] for value in haystack)
    if name == "weekday" and all(isinstance(d, int) and 1 <= d <= 7 for d in haystack):
        return _on_days(sorted(set(haystack)))
    return f"{LABELS.get(name, name)} — одно из: " + ", ".join(_value(name, v) for v in haystack)
