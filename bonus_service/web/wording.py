"""How the pages say amounts, dates and waits in Russian (the templates' filters)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import phonenumbers
from flask import Flask, current_app

from bonus_service.clock import utcnow
from rules.expiry import last_day_to_order
from rules.money import money
from rules.russian import bonuses, plural, rub, zone_time


def bonus_amount(kopecks: int) -> str:
    """1234 bonuses as '1234 бонуса'; 250 kopecks as '2,50 бонуса'."""
    return bonuses(money(kopecks))


def signed(kopecks: int) -> str:
    """A movement with its sign: '+30', '−15' (a real minus, not a hyphen)."""
    amount = rub(money(abs(kopecks)))
    return f"+{amount}" if kopecks > 0 else f"−{amount}" if kopecks < 0 else amount


def roubles(kopecks: int) -> str:
    return f"{rub(money(kopecks))}\u00a0₽"


def local(moment: datetime | None, pattern: str = "%d.%m.%Y %H:%M") -> str:
    """A stored UTC moment in the service's time zone (BONUS_TIMEZONE)."""
    if moment is None:
        return "—"
    return moment.astimezone(current_app.extensions["bonus_settings"].tz).strftime(pattern)


def phone(e164: str) -> str:
    """+79123456789 as '+7 912 345-67-89', easier to check by eye."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def day(moment: date | datetime) -> str:
    """A date as people write it here: 16.03.2026 (an aware moment keeps its own zone)."""
    return moment.strftime("%d.%m.%Y")




def wait(seconds: int) -> str:
    """'45 секунд', '1 минуту', '12 минут', '4 часа' — for 'try again in ...' (kept on one
    line); from two hours on, whole hours rounded up (the daily code limit: «240 минут»)."""
    if seconds < 60:
        return f"{seconds}\u00a0{plural(seconds, 'секунду', 'секунды', 'секунд')}"
    minutes = -(-seconds // 60)
    if minutes <= 120:
        return f"{minutes}\u00a0{plural(minutes, 'минуту', 'минуты', 'минут')}"
    hours = -(-minutes // 60)
    return f"{hours}\u00a0{plural(hours, 'час', 'часа', 'часов')}"


# What the audit's detail keys and coded values say on the console (unknown ones as stored).
DETAIL_LABELS = {
    "amount": "сумма", "reason": "причина", "entry_id": "запись", "found": "найден",
    "why": "почему", "locked_until": "вход закрыт до", "before": "было", "after": "стало",
    "name": "название", "min_order": "минимальный заказ", "scopes": "права",
    "operator": "сотрудник", "adjustment_id": "заявка №", "requested_by": "запросил",
    "held_because": "на проверке", "older_than": "записи старше №", "page": "страница",
    "role": "роль",
}  # fmt: skip
WHY = {
    "wrong password": "неверный пароль", "locked": "вход закрыт",
    "address locked": "вход с адреса закрыт", "account disabled": "оператор отключён",
}  # fmt: skip
HELD = {"review_over": "больше порога проверки", "daily_limit": "сверх дневного лимита"}


# Who did it, as an operator reads it: the actors the service writes itself, and the prefix
# console operators are written with (web.console.actor); anything else is an API key's name.
SYSTEM_ACTORS = {"cli": "командная строка", "expiry-job": "ночное сгорание бонусов",
                 "hold-timer": "таймер резерва", "review-timer": "срок проверки корректировок"}
OPERATOR_PREFIX = "operator:"


def who(actor: str | None) -> str:
    """'operator:anna' → 'оператор anna', 'shop' → 'ключ API «shop»', 'cli' → 'командная строка'."""
    if not actor:
        return "—"
    if actor.startswith(OPERATOR_PREFIX):
        return f"оператор {actor.removeprefix(OPERATOR_PREFIX)}"
    return SYSTEM_ACTORS.get(actor, f"ключ API «{actor}»")


def details(values: dict) -> str:
    """An audit entry's details on one line: 'сумма: 50.00; причина: опоздание'."""
    shown = {key: value for key, value in values.items() if value is not None}
    return "; ".join(f"{DETAIL_LABELS.get(k, k)}: {_plain(k, v)}" for k, v in shown.items())


def _plain(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, dict):
        return ", ".join(f"{DETAIL_LABELS.get(k, k)} {_plain(k, v)}" for k, v in value.items())
    if key == "min_order" and isinstance(value, int):  # stored in kopecks
        return roubles(value)
    if key == "locked_until" and isinstance(value, str):
        try:
            return local(datetime.fromisoformat(value), "%d.%m.%Y %H:%M")
        except ValueError:
            return value
    if key == "why":
        return WHY.get(str(value), str(value))
    if key == "held_because":
        return ", ".join(HELD.get(part, part) for part in str(value).split())
    if key == "amount" and isinstance(value, str):  # an adjustment's signed amount, "-5.00"
        try:
            amount = Decimal(value)
        except ArithmeticError:
            return value
        sign = "+" if amount > 0 else "−" if amount < 0 else ""
        return f"{sign}{bonuses(abs(amount))}"
    return str(value)


def passed(moment: datetime) -> bool:
    """Has this moment come? A burn date that has passed with bonuses left means the next
    nightly run burns them (a cancelled last order moved it back, an operator credited an
    idle guest): «в ночь на» a past day would say nothing true."""
    return moment <= utcnow()


def zone_words() -> str:
    """How the pages' times are meant: «по московскому времени» (BONUS_TIMEZONE)."""
    return zone_time(current_app.extensions["bonus_settings"].tz.key)


def init_app(app: Flask) -> None:
    app.add_template_global(zone_words)
    for name, function in {
        "bonuses": bonus_amount,
        "signed": signed,
        "roubles": roubles,
        "local": local,
        "day": day,
        "phone": phone,
        "details": details,
        "who": who,
        "last_day_to_order": last_day_to_order,
        "passed": passed,
    }.items():
        app.add_template_filter(function, name)
