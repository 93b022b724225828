"""The program as the published Russian rules text, generated from the same data it runs on."""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from rules.describe import describe
from rules.evaluate import evaluate_example
from rules.expiry import anniversary
from rules.money import CENT
from rules.program import Program, example_moment
from rules.russian import (
    CHANNEL_ORDERS,
    ON_WEEKDAYS,
    SOURCE_ORDERS,
    bonuses,
    months,
    plural,
    rub,
    spent_in,
    zone_time,
)

CHANNEL_GENITIVE = {"delivery": "заказа на доставку", "pickup": "заказа на самовывоз",
                    "cafe": "заказа в кафе"}
BASE_WORDS = {"paid": "суммы, оплаченной деньгами", "total": "суммы заказа"}
ROUNDING_WORDS = {"down": "вниз", "up": "вверх", "half_up": "по правилам арифметики",
                  "half_even": "к ближайшему чётному"}


def render_text(program: Program, zones: Mapping[str, Decimal] | None = None,
                until: datetime | None = None, *, upcoming: bool = False) -> str:
    """The rules of `program` in Russian; `zones` (code → minimum order) adds the zone list;
    `until`, the instant a later version took over, tells an earlier version in the past;
    `upcoming` tells a version published for later («вступает в силу»)."""
    parts = [_heading(program, until, upcoming), *_accrual(program),
             *_redemption(program, zones or {}), *_expiry(program)]
    return "\n".join(parts) + "\n"


def _heading(program: Program, until: datetime | None, upcoming: bool) -> str:
    start = program.effective_from.astimezone(program.timezone)
    period = f"{'вступает в силу' if upcoming else 'действует с'} {start:%d.%m.%Y %H:%M}"
    if until is not None:
        period = (f"действовала с {start:%d.%m.%Y %H:%M} до "
                  f"{until.astimezone(program.timezone):%d.%m.%Y %H:%M}")
    return (f"{program.title}\nВерсия {program.version}, {period} "
            f"{_zone_time(program)}.\n\n{INTRODUCTION}\n")


# The parts of the restaurant's published text that are no rule of the program: who takes
# part and how, where the balance is seen, that the program may change and how that is told.
INTRODUCTION = (
    "1 бонус = 1 рублю.\n"
    "Накапливать и списывать бонусы могут только зарегистрированные гости. Зарегистрироваться "
    "можно на сайте vilkinet.ru или у оператора колл-центра: на номер мобильного телефона "
    "придёт смс с данными для входа. Бонусы начисляются на этот номер за заказы на сайте, в "
    "мобильном приложении, через оператора колл-центра и в кафе.\n"
    "Баланс бонусов можно проверить в личном кабинете на сайте vilkinet.ru."
)
CONCLUSION = (
    "Бонусы являются виртуальными средствами оплаты услуг только компании ВилкиНет: в "
    "натуральном или денежном эквиваленте они не выдаются.\n"
    "Компания ВилкиНет оставляет за собой право в одностороннем порядке изменять бонусную "
    "программу. Об изменениях сообщается публикацией новой версии правил на этой странице; "
    "актуальная версия правил всегда находится здесь."
)

EXAMPLE_LAST_ORDER = date(2025, 3, 15)  # the expiry example's last order

def _zone_time(program: Program) -> str:
    return zone_time(program.timezone.key)


def _accrual(program: Program) -> list[str]:
    lines = ["Начисление бонусов"]
    for number, rule in enumerate(program.accrual, start=1):
        earns = (f"на персональный счёт зачисляется {rub(rule.percent)}% от "
                 f"{BASE_WORDS[program.accrual_base]}" if rule.percent else "бонусы не начисляются")
        line = f"{number}. {_sentence(describe(rule.when, program.categories))}: {earns}."
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
    if "source" in example:  # «заказ на доставку в мобильном приложении»
        name += " " + SOURCE_ORDERS[example["source"]].removeprefix("заказ ")
    for category in example.get("categories", []):
        name += f" с блюдом из раздела «{program.categories.get(category, category)}»"
    if "at" in example:  # «в понедельник в 15:30»
        moment = example_moment(program, example).astimezone(program.timezone)
        name += f" {ON_WEEKDAYS[moment.isoweekday()]} в {moment:%H:%M}"
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
        lines.append("Бонусы не списываются (а начисляются по правилам выше) в таких случаях:")
        told = [f"— {describe(e.when, program.categories)}" for e in program.exclusions]
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


def _hours(count: int) -> str:
    """«24 часов» after «в течение»: the genitive (1 часа, 2 часов, 21 часа)."""
    return f"{count} {plural(count, 'часа', 'часов', 'часов')}"


def _during(count: int) -> str:
    return f"{count} {plural(count, 'месяца', 'месяцев', 'месяцев')}"


def _expiry(program: Program) -> list[str]:
    idle = program.idle_months
    missing = ("годовщиной считается последний день месяца" if program.month_end == "clamp"
               else "годовщиной считается первый день следующего месяца")
    last = EXAMPLE_LAST_ORDER
    kept = anniversary(last, idle, program.month_end)
    cancelled = ("Заказ, отменённый после оплаты, тоже продлевает срок."
                 if program.cancelled_orders == "count"
                 else "Заказ, отменённый после оплаты, срок не продлевает.")
    if program.open_orders == "wait":
        cancelled += (f" Если к ночи сгорания заказ уже оформлен, но ещё не выполнен, бонусы в "
                      f"эту ночь не сгорают: выполненный заказ начинает срок заново. Если заказ "
                      f"отменят или не выполнят в течение {_hours(program.open_order_hours)} "
                      f"после оформления, бонусы сгорят в следующую ночь.")
    return ["Сгорание бонусов",
            f"Если в течение {_during(idle)} не было заказов на номер, указанный при "
            f"регистрации, бонусы автоматически сгорают: в 00:00 {_zone_time(program)} на "
            f"следующий день после годовщины последнего заказа — того же числа через "
            f"{months(idle)} (если заказов ещё не было — после годовщины регистрации). Пример: "
            f"последний заказ {last:%d.%m.%Y} — бонусы сгорят в ночь на "
            f"{kept + timedelta(days=1):%d.%m.%Y}, а заказ {kept:%d.%m.%Y} их сохранит. Если "
            f"такого числа в месяце нет, {missing}. {cancelled}",
            "", CONCLUSION]
