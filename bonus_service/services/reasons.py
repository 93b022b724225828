"""The Russian reason written into each ledger entry, for the guest's history."""

from __future__ import annotations

from decimal import Decimal

from rules.russian import plural

# {verb}/{spent}/{earned} agree with the amount: «Начислено 5 бонусов», «Начислен 1 бонус»
_TEXTS = {
    "accrual": "{Начислено} {amount} за заказ {order}",
    "hold": "{Зарезервировано} {amount} для оплаты заказа {order}",
    "spend": "{Оплачено} бонусами {amount} в заказе {order}",
    "release": "Резерв {amount} снят: заказ {order} не оплачен бонусами",
    "refund": "{Возвращено} {amount}: заказ {order} отменён",
    "reversal": "{Списано} {amount}, {начисленных} за отменённый заказ {order}",
    "expiry": "{Сгорело} {amount}: не было заказов {months} мес.",
}
# the plural form (any amount but one ending in 1) → the form that agrees with "1 бонус"
_ONE = {
    "Начислено": "Начислен", "Зарезервировано": "Зарезервирован", "Оплачено": "Оплачен",
    "Возвращено": "Возвращён", "Списано": "Списан", "Сгорело": "Сгорел",
    "начисленных": "начисленный",
    "потрачены или сгорели и не списаны": "потрачен или сгорел и не списан",
}  # fmt: skip


def agreeing(amount: Decimal) -> dict[str, str]:
    """Each word of _ONE in the form that agrees with `amount` bonuses."""
    whole = amount == amount.to_integral_value()
    count = abs(int(amount)) if whole else 2  # a fraction agrees as "2,50 бонуса" does
    return {word: plural(count, single, word, word) for word, single in _ONE.items()}


def bonuses(amount: Decimal) -> str:
    """'30 бонусов', '1 бонус', '2,50 бонуса' — Russian number agreement."""
    whole = amount == amount.to_integral_value()
    shown = f"{int(amount)}" if whole else f"{amount:.2f}".replace(".", ",")
    if not whole:
        return f"{shown} бонуса"
    n = abs(int(amount))
    if n % 10 == 1 and n % 100 != 11:
        return f"{shown} бонус"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{shown} бонуса"
    return f"{shown} бонусов"


def reason(
    kind: str,
    order: str | None,
    amount: Decimal,
    *,
    written_off: Decimal = Decimal(0),
    months: int = 12,
) -> str:
    text = _TEXTS[kind].format(
        amount=bonuses(amount), order=order, months=months, **agreeing(amount)
    )
    if written_off:
        # the reversal cannot tell which: the guest spent them, or the nightly expiry burned them
        spent = agreeing(written_off)["потрачены или сгорели и не списаны"]
        text += f"; {bonuses(written_off)} уже {spent}"
    return text


def adjustment(amount: Decimal, why: str) -> str:
    verb = agreeing(abs(amount))["Начислено" if amount > 0 else "Списано"]
    return f"{verb} оператором {bonuses(abs(amount))}: {why}"
