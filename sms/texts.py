"""The SMS texts guests receive, in Russian; each fits two Cyrillic SMS segments (134 chars)."""

from datetime import date
from decimal import Decimal

from rules.expiry import last_day_to_order
from rules.russian import agreeing, bonuses, rub


def login_code(code: str, minutes: int) -> str:
    """The login code for the website or the app. It only logs in; paying with bonuses takes
    a spending code of its own, so this one is told to nobody, a cashier neither."""
    return (
        f"Код для входа в ВилкиНет: {code}. Действует {minutes} {_minutes(minutes)}. "
        "Никому его не сообщайте, даже кассиру или оператору."
    )


def spending_code(code: str, amount: Decimal, minutes: int) -> str:
    """The code a till or the call center asked for: consent to pay one order with bonuses up
    to `amount` roubles; it says what it allows, and that it is the cashier's to hear."""
    return (
        f"Код для оплаты бонусами до {rub(amount)} ₽ одного заказа в ВилкиНет: {code}. "
        f"Действует {minutes} {_minutes(minutes)}: сообщите его кассиру."
    )


def registered_by_operator(code: str, minutes: int) -> str:
    """The call center registered the guest: where to log in, and a first login code."""
    return (
        f"Вы в бонусной программе ВилкиНет. Вход на vilkinet.ru, код {code} действует "
        f"{minutes} {_minutes(minutes)}. Никому его не сообщайте."
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
