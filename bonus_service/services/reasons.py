"""The Russian reason written into each ledger entry, for the guest's history."""

from __future__ import annotations

from decimal import Decimal

from rules import russian
from rules.russian import bonuses, bonuses_genitive

# {verb}/{earned} agree with the amount: «Начислено 5 бонусов», «Начислен 1 бонус»; {held}
# is the genitive after «резерв»: «резерв 1 бонуса», «резерв 22 бонусов»
_TEXTS = {
    "accrual": "{Начислено} {amount} за заказ {order}",
    "hold": "{Зарезервировано} {amount} для оплаты заказа {order}",
    "spend": "{Списано} {amount} в оплату заказа {order}",
    "release": "Снят резерв {held}: заказ {order} отменён",
    "release.timer": "Снят резерв {held}: заказ {order} не был оплачен вовремя",
    "refund": "{Возвращено} {amount}: заказ {order} отменён",
    "reversal": "{Списано} {amount}, {начисленных} за отменённый заказ {order}",
    "reversal.recovered": "{Списано} {amount}, {начисленных} за отменённый заказ {order}: "
                          "{они} {вернулись} на счёт с отменой заказа {by}",
    "reversal.burned": "Заказ {order} отменён после того, как бонусы на счёте сгорели: "
                       "по нему ничего не возвращается и не списывается",
    "expiry": "{Сгорело} {amount}: {months} не было заказов",
}
# the plural form (any amount but one ending in 1) → the form that agrees with "1 бонус"
_ONE = {
    "Начислено": "Начислен", "Зарезервировано": "Зарезервирован", "Возвращено": "Возвращён",
    "Списано": "Списан", "Сгорело": "Сгорел", "начисленных": "начисленный",
    "начисленные": "начисленный", "израсходованы": "израсходован",
    "они": "он", "вернулись": "вернулся",
}  # fmt: skip


def agreeing(amount: Decimal) -> dict[str, str]:
    """Each word of _ONE in the form that agrees with `amount` bonuses."""
    return {word: russian.agreeing(amount, single, word, word) for word, single in _ONE.items()}


def reason(
    text: str,
    order: str | None,
    amount: Decimal,
    *,
    written_off: Decimal = Decimal(0),
    months: int = 12,
    by: str | None = None,
) -> str:
    """The entry's reason: `text` is its kind, or a kind's variant ("release.timer")."""
    if text == "reversal" and written_off:
        return _partly_reversed(order, amount, written_off)
    return _TEXTS[text].format(
        amount=bonuses(amount), held=bonuses_genitive(amount), order=order, by=by,
        months=russian.months(months), **agreeing(amount),
    )  # fmt: skip


def _partly_reversed(order: str | None, taken: Decimal, written_off: Decimal) -> str:
    """Some of a cancelled order's accrual was spent, burned or debited: say what was taken.

    The ledger cannot tell which of the three took the rest, so the text says «израсходованы».
    """
    earned, gone = taken + written_off, agreeing(written_off)
    if not taken:
        return (f"Заказ {order} отменён: {bonuses(earned)}, {agreeing(earned)['начисленные']} "
                f"за него, уже {agreeing(earned)['израсходованы']} — списывать нечего")
    of_earned = russian.agreeing(earned, "начисленного", "начисленных", "начисленных")
    return (f"{agreeing(taken)['Списано']} {bonuses(taken)} из {russian.rub(earned)} {of_earned} "
            f"за отменённый заказ {order}, а {bonuses(written_off)} уже {gone['израсходованы']}")


def adjustment(amount: Decimal, why: str) -> str:
    verb = agreeing(abs(amount))["Начислено" if amount > 0 else "Списано"]
    return f"{verb} оператором {bonuses(abs(amount))}: {why}"
