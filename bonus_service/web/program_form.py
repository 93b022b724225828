"""The marketing console's draft form: the program's usual knobs read from and written into the
program data, and the loader's refusals said in Russian next to the knob they concern.

A program is rules and conditions (rules/programs/*.json); a marketing person thinks in knobs:
"3 % for delivery", "pickup over 500 ₽", "20 % of an order". Each knob here is a view of some
places in the data, and writing it changes exactly those places, so the JSON box (everything
the form does not cover) and the form never disagree. The loader stays the one judge of a
program: the form only puts values where they belong and translates what the loader says.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from rules.order import ZONED_CHANNELS
from rules.russian import rub

JSON_FIELD = "program_json"
CHANNEL_WORDS = {"delivery": "доставка", "pickup": "самовывоз", "cafe": "кафе"}
PROMO, LUNCH = "promo_code", "cafe_business_lunch"
PICKUP = {"==": [{"var": "channel"}, "pickup"]}
THRESHOLD_OPS = ("<", "<=", ">", ">=")
# The exclusions the form switches on again as the shipped program wrote them, when the draft
# has dropped them (a draft without the promo-code exclusion has no text of it to restore).
DEFAULT_EXCLUSIONS = {
    PROMO: {"id": PROMO, "when": {">": [{"var": "promo_count"}, 0]},
            "message": "Оплата бонусами недоступна: в заказе есть промокод"},
    LUNCH: {"id": LUNCH,
            "when": {"and": [{"==": [{"var": "channel"}, "cafe"]},
                             {"in": ["business_lunch", {"var": "categories"}]}]},
            "message": "Оплата бонусами недоступна: в заказе в кафе есть бизнес-ланч"},
}  # fmt: skip


@dataclass
class Knobs:
    """The form's values as the person typed them (strings), keyed by form field name."""

    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def field_names(data: Mapping) -> dict[str, str]:
    """Form field → its label, for the program's rules as they stand (a rule per percent)."""
    labels = {"title": "Название программы"}
    for i, rule in enumerate(data.get("accrual", [])):
        labels[f"accrual-{i}-percent"] = rule.get("message") or rule.get("id") or f"Правило {i}"
    return labels


def read(data: Mapping) -> dict[str, object]:
    """The knobs' current values in the program data, as the form shows them."""
    redemption = data.get("redemption", {})
    exclusions = {e.get("id") for e in redemption.get("exclusions", [])}
    values: dict[str, object] = {
        "title": data.get("title", ""),
        "max_percent": _shown(redemption.get("max_percent")),
        "zone_minimum_channels": list(redemption.get("zone_minimum_channels", [])),
        "exclude_promo": PROMO in exclusions,
        "exclude_business_lunch": LUNCH in exclusions,
        "idle_months": str(data.get("expiry", {}).get("idle_months", 12)),
        "pickup_threshold": _shown(pickup_threshold(data)),
    }
    for i, rule in enumerate(data.get("accrual", [])):
        values[f"accrual-{i}-percent"] = _shown(rule.get("percent"))
    for name, category in data.get("categories", {}).items():
        values[f"category-{name}-label"] = category.get("label", "")
        values[f"category-{name}-aliases"] = ", ".join(category.get("aliases", []))
    return values


def pickup_threshold(data: Mapping) -> Decimal | None:
    """The order total the pickup rules compare with (500.00 in the shipped program), or None
    when no accrual rule for pickup compares the total."""
    for rule in data.get("accrual", []):
        if _mentions(rule.get("when"), PICKUP):
            for found in _total_comparisons(rule.get("when")):
                return _decimal(found[1])
    return None


def write(data: Mapping, form: Mapping[str, str], checked: set[str]) -> Knobs:
    """The program data with the form's knobs written in (a copy), and the knobs' own errors
    (a value that is not even a number); `checked` holds the checkboxes that came ticked.
    Returns Knobs whose values hold the new data under "program"."""
    data = copy.deepcopy(dict(data))
    knobs = Knobs()
    if "title" in form:
        data["title"] = form["title"].strip()
    for i, rule in enumerate(data.get("accrual", [])):
        name = f"accrual-{i}-percent"
        if name in form:
            rule["percent"] = _number(form[name], name, knobs, PERCENT_MESSAGE)
    redemption = data.setdefault("redemption", {})
    if "max_percent" in form:
        redemption["max_percent"] = _number(form["max_percent"], "max_percent", knobs,
                                            PERCENT_MESSAGE)  # fmt: skip
    if "zone_minimum_channels-shown" in form:
        channels = [c for c in ZONED_CHANNELS if f"zone_minimum_channels:{c}" in checked]
        redemption["zone_minimum_channels"] = channels
        # a cap example shows the zone minimum: one for a channel that no longer keeps it
        # would be refused by the loader, and it can only go with the minimum it illustrates
        if "examples" in redemption:
            redemption["examples"] = [e for e in redemption["examples"]
                                      if e.get("channel") in channels]  # fmt: skip
    if "exclusions-shown" in form:
        _exclusion(redemption, PROMO, "exclude_promo" in checked)
        _exclusion(redemption, LUNCH, "exclude_business_lunch" in checked)
    if "idle_months" in form:
        typed = form["idle_months"].strip()
        if re.fullmatch(r"[0-9]{1,4}", typed):
            data.setdefault("expiry", {})["idle_months"] = int(typed)
        else:
            knobs.errors["idle_months"] = IDLE_MESSAGE
    if form.get("pickup_threshold", "").strip():
        threshold = _number(form["pickup_threshold"], "pickup_threshold", knobs, AMOUNT_MESSAGE)
        if isinstance(threshold, str) and "pickup_threshold" not in knobs.errors:
            _set_threshold(data, threshold)
    for name, category in data.get("categories", {}).items():
        if f"category-{name}-label" in form:
            category["label"] = form[f"category-{name}-label"].strip()
        if f"category-{name}-aliases" in form:
            aliases = [a.strip() for a in form[f"category-{name}-aliases"].split(",")]
            category["aliases"] = [a for a in aliases if a]
    knobs.values = {**read(data), "program": data}
    return knobs


def _exclusion(redemption: dict, rule_id: str, wanted: bool) -> None:
    exclusions = redemption.setdefault("exclusions", [])
    present = any(e.get("id") == rule_id for e in exclusions)
    if wanted and not present:
        exclusions.append(copy.deepcopy(DEFAULT_EXCLUSIONS[rule_id]))
    elif not wanted and present:
        redemption["exclusions"] = [e for e in exclusions if e.get("id") != rule_id]


def _set_threshold(data: dict, threshold: str) -> None:
    """The new threshold in every pickup rule's total comparison, and in its message where the
    old amount is written in roubles («Самовывоз на сумму более 500 ₽»), so the published text
    keeps telling the rule it applies."""
    old = pickup_threshold(data)
    if old is None:
        return
    for rule in data.get("accrual", []):
        if not _mentions(rule.get("when"), PICKUP):
            continue
        for comparison in _total_comparisons(rule.get("when")):
            comparison[1] = threshold
        if isinstance(rule.get("message"), str):
            written = re.escape(rub(old))
            rule["message"] = re.sub(rf"(?<![\d,]){written}(?=\s*₽)", rub(Decimal(threshold)),
                                     rule["message"])  # fmt: skip


def _mentions(node: object, wanted: object) -> bool:
    if node == wanted:
        return True
    if isinstance(node, dict):
        return any(_mentions(v, wanted) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v, wanted) for v in node)
    return False


def _total_comparisons(node: object):
    """The `[{"var": "total"}, amount]` argument lists of the comparisons in a condition."""
    if isinstance(node, dict) and len(node) == 1:
        op, args = next(iter(node.items()))
        if op in THRESHOLD_OPS and isinstance(args, list) and len(args) == 2 \
                and args[0] == {"var": "total"}:  # fmt: skip
            yield args
            return
        for arg in args if isinstance(args, list) else [args]:
            yield from _total_comparisons(arg)


def _number(typed: str, name: str, knobs: Knobs, message: str) -> str:
    """A typed number («3,5», «1 000») as the program writes it ("3.5"); the typed text and an
    error when it is no number at all (the loader judges the range)."""
    cleaned = typed.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        knobs.errors[name] = message
        return typed
    if not amount.is_finite():
        knobs.errors[name] = message
        return typed
    return cleaned


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _shown(value: object) -> str:
    """A program number as a person reads it: «3», «3,5», «500»."""
    amount = _decimal(value) if value is not None else None
    return "" if amount is None else rub(amount)


# --- the loader's refusals in Russian, next to their knob -----------------------------------

PERCENT_MESSAGE = "Укажите процент: число от 0 до 100, не больше двух знаков после запятой."
AMOUNT_MESSAGE = "Укажите сумму в рублях, например 500 или 749,90."
IDLE_MESSAGE = "Укажите целое число месяцев от 1 до 120."
REASONS = (  # the loader's reason (a prefix) → Russian; the first that matches
    ("unknown key", "неизвестный ключ: такого поля в программе нет"),
    ("is missing", "обязательное поле отсутствует"),
    ("must be an object", "должно быть объектом { … }"),
    ("must be a non-empty string", "должно быть непустой строкой"),
    ("must be a non-empty list", "должно быть непустым списком"),
    ("must be a list", "должно быть списком"),
    ("must be a whole number", "должно быть целым числом"),
    ("must be between", "выходит за допустимые пределы"),
    ("must be a percentage", "должно быть процентом от 0 до 100"),
    ("must be a positive amount", 'должно быть положительной суммой, например "1" или "0.01"'),
    ("must be one of", "допустимо только одно из значений"),
    (
        "is not an ISO date-time",
        "должно быть датой и временем ISO, например 2027-02-01T00:00:00+03:00",
    ),
    (
        "must include a time zone offset",
        "должно указывать смещение часового пояса, например +03:00",
    ),
    ("unknown time zone", "неизвестный часовой пояс"),
    (
        "is never reached",
        "правило никогда не сработает: предыдущее правило всегда выполняется "
        "или имеет то же условие",
    ),
    ("is decided by", "пример считается по другому правилу, а не по своему"),
    ("unknown category", "неизвестная категория: добавьте её в categories"),
    ("may hold only latin letters", "только латинские буквы, цифры, «.», «_» и «-»"),
    ("is named for", "версия названа одной датой, а действует с другой"),
    ("at most", "слишком длинное значение"),
    ("must stay", "версию черновика изменить нельзя: для другой версии создайте новый черновик"),
    (
        "must be a channel of zone_minimum_channels",
        "пример показывает минимальную сумму зоны, а этот канал её не соблюдает",
    ),
    ("allows no redemption at all", "пример не допускает оплату бонусами вовсе"),
    (
        "must be a plain number",
        "должно быть простым числом, строкой, true, false, null, списком или объектом",
    ),
    (
        "is in the past",
        "дата уже прошла: версия может вступить в силу только с текущего момента или позже",
    ),
)


def russian(reason: str) -> str:
    """The loader's reason (English, in the program's terms) said in Russian."""
    for prefix, words in REASONS:
        if reason.startswith(prefix):
            detail = re.search(r"\(got .*\)$", reason)
            return words + (f" ({detail.group(0)[5:-1]})" if detail and "got" in reason else "")
    return f"программа не принята: {reason}"


def place(errors: Mapping[str, str], data: Mapping) -> dict[str, str]:
    """The service's errors (`program.accrual.1.percent` → reason) as form errors: each beside
    its knob in Russian; a path no knob shows goes beside the JSON box, with the path."""
    placed: dict[str, str] = {}
    for path, reason in errors.items():
        name = knob_of(path, data)
        if name is None:
            shown = path.removeprefix("program.").removeprefix("program") or "программа целиком"
            message = f"{shown}: {russian(reason)}."
            name = JSON_FIELD
        else:
            message = KNOB_MESSAGES.get(name.split("-")[0], "{}").format(russian(reason))
            message = message[0].upper() + message[1:]
            if not message.endswith("."):
                message += "."
        placed[name] = f"{placed[name]} {message}" if name in placed else message
    return placed


KNOB_MESSAGES = {
    "accrual": PERCENT_MESSAGE,
    "max_percent": PERCENT_MESSAGE,
    "idle_months": IDLE_MESSAGE,
    "pickup_threshold": "Порог самовывоза: {}. Пример правила в JSON должен остаться заказом "
    "своего правила — поправьте его сумму.",
}


def knob_of(path: str, data: Mapping) -> str | None:
    """The form field that shows the program field at `path`, or None (the JSON box)."""
    dotted = path.removeprefix("program.")
    if m := re.fullmatch(r"accrual\.(\d+)\.percent", dotted):
        return f"accrual-{m.group(1)}-percent"
    if m := re.match(r"accrual\.(\d+)\.(when|example)", dotted):
        rules = data.get("accrual", [])
        index = int(m.group(1))
        if index < len(rules) and _mentions(rules[index].get("when"), PICKUP) \
                and pickup_threshold(data) is not None:  # fmt: skip
            return "pickup_threshold"
        return None
    simple = {"title": "title", "redemption.max_percent": "max_percent",
              "expiry.idle_months": "idle_months", "version": "version",
              "effective_from": "effective_from"}  # fmt: skip
    if dotted in simple:
        return simple[dotted]
    if dotted.startswith("redemption.zone_minimum_channels"):
        return "zone_minimum_channels"
    if re.fullmatch(r"redemption\.examples\.\d+\.channel", dotted):
        return "zone_minimum_channels"
    if m := re.fullmatch(r"categories\.([^.]+)\.(label|aliases)(\.\d+)?", dotted):
        return f"category-{m.group(1)}-{m.group(2)}"
    return None


def as_json(data: Mapping) -> str:
    """The program as the JSON box shows it: indented, numbers as the program wrote them."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def channels_offered() -> list[tuple[str, str]]:
    return [(c, CHANNEL_WORDS.get(c, c)) for c in ZONED_CHANNELS]
