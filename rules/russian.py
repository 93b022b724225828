"""Russian words for amounts, bonuses, months and channels, shared by messages and the text."""

from decimal import Decimal

CHANNEL_ORDERS = {"delivery": "заказ на доставку", "pickup": "заказ на самовывоз",
                  "cafe": "заказ в кафе"}
SOURCE_ORDERS = {"website": "заказ через сайт", "app": "заказ в мобильном приложении",
                 "call_center": "заказ через колл-центр", "cafe_pos": "заказ на кассе кафе"}
# "on Monday" …: the form a weekday takes after «заказ»
ON_WEEKDAYS = ("", "в понедельник", "во вторник", "в среду", "в четверг", "в пятницу",
               "в субботу", "в воскресенье")
WEEKDAYS = ("", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота",
            "воскресенье")


def rub(amount: Decimal) -> str:
    """1000 for a whole amount, 349,90 otherwise (Russian decimal comma)."""
    if amount == amount.to_integral_value():
        return str(int(amount))
    return f"{amount:.2f}".replace(".", ",")


def plural(number: int, one: str, few: str, many: str) -> str:
    """The Russian noun form for a count: 1 бонус, 2 бонуса, 5 бонусов."""
    if number % 10 == 1 and number % 100 != 11:
        return one
    if 2 <= number % 10 <= 4 and not 12 <= number % 100 <= 14:
        return few
    return many


def agreeing(amount: Decimal | int, one: str, few: str, many: str) -> str:
    """The form that agrees with an amount: as `plural` for a whole one; a fraction agrees as
    «2,50 бонуса» does («сгорят», «их»)."""
    amount = Decimal(amount)
    if amount != amount.to_integral_value():
        return few
    return plural(abs(int(amount)), one, few, many)


def bonuses(amount: Decimal) -> str:
    """An amount of bonuses in words: 30 бонусов, 21 бонус, 29,50 бонуса."""
    if amount != amount.to_integral_value():
        return f"{rub(amount)} бонуса"
    return f"{int(amount)} {plural(abs(int(amount)), 'бонус', 'бонуса', 'бонусов')}"


def bonuses_genitive(amount: Decimal) -> str:
    """The same in the genitive, after «не более», «из», «резерв»: 1 бонуса, 2 бонусов."""
    if amount != amount.to_integral_value():
        return f"{rub(amount)} бонуса"
    return f"{int(amount)} {plural(abs(int(amount)), 'бонуса', 'бонусов', 'бонусов')}"


def months(count: int) -> str:
    """12 месяцев, 1 месяц, 3 месяца."""
    return f"{count} {plural(count, 'месяц', 'месяца', 'месяцев')}"


def spent_in(quantum: Decimal) -> str:
    """How bonuses are spent under a rounding quantum: «только целыми», «суммами, кратными 5»."""
    if quantum == 1:
        return "только целыми"
    return f"только суммами, кратными {rub(quantum)}"


# how the texts name a time zone; others by their IANA name
ZONE_TIME = {"Europe/Moscow": "по московскому времени"}


def zone_time(key: str) -> str:
    """«по московскому времени» for Europe/Moscow; «(часовой пояс Asia/Omsk)» for the rest."""
    return ZONE_TIME.get(key, f"(часовой пояс {key})")
