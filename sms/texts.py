"""The SMS texts guests receive, in Russian; each fits two Cyrillic SMS segments (134 chars)."""

from datetime import date, timedelta
from decimal import Decimal


def login_code(code: str, minutes: int) -> str:
    """The login code for the website or the app; the same code is a guest's consent to pay
    with bonuses at a till or by phone (the contract's `confirmation_code`), so the text says
    whom it may be told to, not «никому не сообщайте»."""
    return (
        f"Код ВилкиНет: {code}. Действует {minutes} {_minutes(minutes)}. Для входа и для оплаты "
        "бонусами: сообщайте его только кассиру или оператору ВилкиНет."
    )


def registered_by_operator(code: str, minutes: int) -> str:
    """The call center registered the guest: where to log in, and a first code."""
    return (
        f"Вы зарегистрированы в бонусной программе ВилкиНет. Вход на vilkinet.ru, "
        f"код {code} действует {minutes} {_minutes(minutes)}."
    )


def burn_warning(amount: int | Decimal, burns_on: date) -> str:
    """A reminder that an idle balance is about to burn.

    `burns_on` is the day whose first moment (00:00 local) the balance burns at: "сгорят
    16.03" read as "during the 16th" and sent guests ordering on the 16th, too late. The text
    says the night and the last day an order keeps them.
    """
    burns = _plural(amount, "сгорит", "сгорят", "сгорят")
    keep = _plural(amount, "его", "их", "их")
    last_day = burns_on - timedelta(days=1)
    return (
        f"ВилкиНет: {_amount(amount)} {_bonuses(amount)} {burns} в ночь на "
        f"{burns_on:%d.%m.%Y}. Сделайте заказ до конца {last_day:%d.%m}, чтобы сохранить {keep}."
    )


def _minutes(n: int) -> str:
    # Accusative after «действует»: 1 минуту, 2 минуты, 5 минут.
    return _plural(n, "минуту", "минуты", "минут")


def _bonuses(amount: int | Decimal) -> str:
    return _plural(amount, "бонус", "бонуса", "бонусов")


def _plural(n: int | Decimal, one: str, few: str, many: str) -> str:
    """The Russian form for a count: 1/21 one, 2-4/22-24 few, the rest many."""
    if Decimal(n) != Decimal(n).to_integral_value():
        return few  # a fraction takes the genitive singular: «120,5 бонуса»
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _amount(amount: int | Decimal) -> str:
    """Whole bonuses as a plain number, a fraction with a Russian decimal comma."""
    value = Decimal(amount)
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value:.2f}".replace(".", ",")
