"""The program as the published Russian rules text, generated from the same data it runs on."""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from rules.describe import describe
from rules.evaluate import evaluate_example
from rules.money import CENT
from rules.program import Program
from rules.russian import CHANNEL_ORDERS, bonuses, months, plural, rub, spent_in

CHANNEL_GENITIVE = {"delivery": "заказа на доставку", "pickup": "заказа на самовывоз",
                    "cafe": "заказа в кафе"}
ROUNDING_WORDS = {"down": "вниз", "up": "вверх", "half_up": "по правилам арифметики",
                  "half_even": "к ближайшему чётному"}


def render_text(program: Program, zones: Mapping[str, Decimal] | None = None,
                until: datetime | None = None) -> str:
    """The rules of `program` in Russian; `zones` (code → minimum order) adds the zone list;
    `until`, the instant a later version took over, tells an earlier version in the past."""
    parts = [_heading(program, until), *_accrual(program), *_redemption(program, zones or {}),
             *_expiry(program)]
    return "\n".join(parts) + "\n"


def _heading(program: Program, until: datetime | None) -> str:
    start = program.effective_from.astimezone(program.timezone)
    period = f"действует с {start:%d.%m.%Y %H:%M}"
    if until is not None:
        period = (f"действовала с {start:%d.%m.%Y %H:%M} до "
                  f"{until.astimezone(program.timezone):%d.%m.%Y %H:%M}")
    return (f"{program.title}\nВерсия {program.version}, {period} "
            f"{_zone_time(program)}.\n\n1 бонус = 1 рублю.\n"
            "Накапливать и списывать бонусы могут только зарегистрированные гости.\n")


# how the text names a time zone; others by their IANA name
ZONE_TIME = {"Europe/Moscow": "по московскому времени"}


def _zone_time(program: Program) -> str:
    return ZONE_TIME.get(program.timezone.key, f"(часовой пояс {program.timezone.key})")


def _accrual(program: Program) -> list[str]:
    lines = ["Начисление бонусов"]
    for number, rule in enumerate(program.accrual, start=1):
        line = (f"{number}. {_sentence(describe(rule.when, program.categories))}: на персональный "
                f"счёт зачисляется {rub(rule.percent)}% от суммы заказа.")
        if rule.example is not None:
            line += f" Пример: {_example_accrual(program, rule.example)}."
        lines.append(line)
    lines.append("Если к заказу подходят несколько правил, действует первое из них.")
    lines.append(_base(program))
    lines.append(f"Начисленные бонусы округляются {ROUNDING_WORDS[program.rounding_mode]} "
                 f"{_quantum(program.quantum)}.\n")
    return lines


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _example_accrual(program: Program, example: Mapping) -> str:
    decision = evaluate_example(program, example)
    return f"{_example_name(example, program)} — гость получает {bonuses(decision.accrual)}"


def _example_name(example: Mapping, program: Program) -> str:
    name = CHANNEL_ORDERS[example["channel"]]
    for category in example.get("categories", []):
        name += f" с блюдом из раздела «{program.categories.get(category, category)}»"
    return f"{name} на {rub(Decimal(example['total']))} ₽"


def _base(program: Program) -> str:
    if program.accrual_base == "paid":
        return ("Бонусы начисляются на сумму, оплаченную деньгами: сумму заказа "
                "за вычетом списанных бонусов.")
    return "Бонусы начисляются на полную сумму заказа, включая часть, оплаченную бонусами."


def _quantum(quantum: Decimal) -> str:
    if quantum == 1:
        return "до целого бонуса"
    if quantum == Decimal("0.01"):
        return "до копейки"
    return f"до кратного {rub(quantum)}"


def _redemption(program: Program, zones: Mapping[str, Decimal]) -> list[str]:
    lines = ["Оплата бонусами",
             "Бонусы списываются только по запросу гостя: на сайте — кнопкой "
             "«Использовать бонусы» на странице оформления заказа.",
             f"Бонусами можно оплатить до {rub(program.max_percent)}% от суммы заказа, "
             "но не больше доступного баланса."]
    if program.quantum > CENT:
        lines.append(f"Бонусы списываются {spent_in(program.quantum)}.")
    lines += _zone_clause(program, zones)
    if program.exclusions:
        lines.append("Бонусы не списываются (а начисляются по правилам выше), если:")
        told = [f"— {describe(e.when, program.categories)} («{e.explanation.message}»)"
                for e in program.exclusions]
        lines.append(";\n".join(told) + ".")
    lines.append(_promo_clause(program.max_promo_codes) + "\n")
    return lines


def _zone_clause(program: Program, zones: Mapping[str, Decimal]) -> list[str]:
    if not program.zone_minimum_channels:
        return []
    channels = " и ".join(CHANNEL_GENITIVE[c] for c in sorted(program.zone_minimum_channels))
    line = (f"Для {channels} итоговая сумма к оплате с учётом списанных бонусов не может быть "
            "меньше минимальной суммы заказа в зоне доставки гостя.")
    if program.redemption_example is not None:
        line += f" Пример: {_example_cap(program, program.redemption_example)}."
    lines = [line]
    if zones:
        listed = ", ".join(f"«{code}» — {rub(amount)} ₽" for code, amount in sorted(zones.items()))
        lines.append(f"Минимальная сумма заказа по зонам доставки: {listed}.")
    return lines


def _example_cap(program: Program, example: Mapping) -> str:
    minimum = Decimal(example.get("zone_min_order", "0"))
    decision = evaluate_example(program, example)
    return (f"{_example_name(example, program)} при минимальной сумме заказа в зоне "
            f"{rub(minimum)} ₽ можно оплатить бонусами до {rub(decision.redeem_max)} ₽")


def _promo_clause(limit: int) -> str:
    if limit == 0:  # an order with one is refused outright
        return "Промокоды в заказах не принимаются."
    if limit == 1:
        return "В заказе может быть использован только один промокод."
    return f"В заказе может быть использовано не более {limit} " \
           f"{plural(limit, 'промокода', 'промокодов', 'промокодов')}."


def _during(count: int) -> str:
    return f"{count} {plural(count, 'месяца', 'месяцев', 'месяцев')}"


def _expiry(program: Program) -> list[str]:
    missing = ("в последний день месяца" if program.month_end == "clamp"
               else "в первый день следующего месяца")
    return ["Сгорание бонусов",
            f"Если в течение {_during(program.idle_months)} не было совершено заказов на номер, "
            "указанный при регистрации, бонусы автоматически сгорают: в полночь после того же "
            f"числа через {months(program.idle_months)} после последнего заказа, а если заказов "
            f"ещё не было — после регистрации ({_zone_time(program)}); если такого числа в "
            f"месяце нет — {missing}. "
            + ("Заказ, отменённый после оплаты, тоже считается."
               if program.cancelled_orders == "count"
               else "Заказ, отменённый после оплаты, не считается."),
            "", "Бонусы являются виртуальными средствами оплаты услуг только компании ВилкиНет "
            "и в натуральном виде не выдаются."]
