"""The SMS texts guests receive, in Russian; each fits two Cyrillic SMS segments (134 chars)."""

from datetime import date
from decimal import Decimal

from rules.expiry import last_day_to_order
from rules.russian import agreeing, bonuses


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
    burns = agreeing(amount, "сгорит", "сгорят", "сгорят")
    keep = agreeing(amount, "его", "их", "их")
    last_day = last_day_to_order(burns_on)
    return (
        f"ВилкиНет: {bonuses(Decimal(amount))} {burns} в ночь на "
        f"{burns_on:%d.%m}. Сделайте заказ до конца {last_day:%d.%m}, чтобы сохранить {keep}."
    )


def _minutes(n: int) -> str:
    # Accusative after «действует»: 1 минуту, 2 минуты, 5 минут.
    return agreeing(n, "минуту", "минуты", "минут")
