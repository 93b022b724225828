"""The program as the published Russian rules text, generated from the same data it runs on."""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from rules.conditions import category_named
from rules.describe import describe
from rules.evaluate import evaluate_example
from rules.expiry import anniversary
from rules.money import CENT
from rules.program import Exclusion, Program, example_moment, example_order
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

# «При заказе на доставку …»: the form a channel's order takes after «при»
CHANNEL_PREPOSITIONAL = {"delivery": "заказе на доставку", "pickup": "заказе на самовывоз",
                         "cafe": "заказе в кафе"}
BASE_WORDS = {"paid": "суммы, оплаченной деньгами", "total": "суммы заказа"}
ROUNDING_WORDS = {"down": "вниз", "up": "вверх", "half_up": "по правилам арифметики",
                  "half_even": "к ближайшему чётному"}


def render_text(program: Program, zones: Mapping[str, Decimal] | None = None,
                until: datetime | None = None, *, upcoming: bool = False) -> str:
    """The rules of `program` in Russian; `zones` (code → minimum order) adds the zone list;
    `until`, the instant a later version took over, tells an earlier version in the past;
    `upcoming` tells a version published for later. The version id is no part of it: a guest
    reads the dates, and the page shows the id in small print."""
    parts = [_heading(program, until, upcoming), *_accrual(program),
             *_redemption(program, zones or {}), *_expiry(program)]
    return "\n".join(parts) + "\n"


def _heading(program: Program, until: datetime | None, upcoming: bool) -> str:
    start = _moment(program, program.effective_from)
    period = f"новые правила с {start}" if upcoming else f"правила с {start}"
    if until is not None:
        period = f"правила, действовавшие с {start} до {_moment(program, until)}"
    return f"{program.title} — {period}\n{INTRODUCTION}\n"


def _moment(program: Program, moment: datetime) -> str:
    """«01.02.2027», with the hour only when a version starts at another time than midnight."""
    local = moment.astimezone(program.timezone)
    if (local.hour, local.minute) == (0, 0):
        return f"{local:%d.%m.%Y}"
    return f"{local:%d.%m.%Y %H:%M} {_zone_time(program)}"


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
    """The general rules, numbered; a rule told with its exclusion (the business lunch) is an
    exception and is told under «Оплата бонусами», as the restaurant's own text does."""
    general = [rule for rule in program.accrual if _paired_exclusion(program, rule) is None]
    lines = ["Начисление бонусов"]
    for number, rule in enumerate(general, start=1):
        earns = (f"на персональный счёт зачисляется {rub(rule.percent)}% от "
                 f"{BASE_WORDS[program.accrual_base]}" if rule.percent else "бонусы не начисляются")
        line = f"{number}. {_sentence(describe(rule.when, program.categories))}: {earns}."
        if rule.example is not None:
            line += f" Пример: {_example_accrual(program, rule.example)}."
        lines.append(line)
    if _overlapping(program, general):
        lines.append("Если заказ подходит под несколько пунктов, действует тот, что выше.")
    lines.append("Сумма заказа — стоимость блюд за вычетом скидки по промокоду. "
                 + _base(program) + f" Начисленные бонусы округляются "
                 f"{ROUNDING_WORDS[program.rounding_mode]} {_quantum(program.quantum)}.\n")
    return lines


def _paired_exclusion(program: Program, rule) -> Exclusion | None:
    """The exclusion with the very condition of an accrual rule: the two are one sentence of
    the rules («бонусы … начисляются в размере 3%, но не списываются»)."""
    return next((e for e in program.exclusions if e.when == rule.when), None)


def _overlapping(program: Program, general: list) -> bool:
    """Whether an order of a rule's worked example would also be taken by a rule listed
    after it, so that the order of the list decides; the default program's rules never
    overlap, and its text needs no word on it."""
    for i, rule in enumerate(general):
        if rule.example is None:
            continue
        order = program.recognise(example_order(rule.example))
        moment = example_moment(program, rule.example).astimezone(program.timezone)
        if any(later.test(order, moment) for later in general[i + 1:]):
            return True
    return False


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
    return "Бонусы начисляются на всю сумму заказа, в том числе на часть, оплаченную бонусами."


def _quantum(quantum: Decimal) -> str:
    if quantum == 1:
        return "до целого бонуса"
    if quantum == Decimal("0.01"):
        return "до копейки"
    return f"до кратного {rub(quantum)}"


def _redemption(program: Program, zones: Mapping[str, Decimal]) -> list[str]:
    spent = f" Бонусы списываются {spent_in(program.quantum)}." if program.quantum > CENT else ""
    told = ["Бонусы списываются только по желанию гостя: на сайте для этого нужно нажать "
            "кнопку «Использовать бонусы» на странице оформления заказа, а в кафе и по "
            "телефону — назвать кассиру или оператору код для оплаты бонусами из смс. Код "
            "для входа в личный кабинет не сообщайте никому.",
            f"Бонусами можно оплатить до {rub(program.max_percent)}% от суммы заказа, но не "
            f"больше доступного баланса.{spent}"]
    zone_clause = _zone_clause(program)
    told += [zone_clause] if zone_clause else []
    told += [_exclusion_clause(program, exclusion) for exclusion in program.exclusions]
    told.append(_promo_clause(program.max_promo_codes))
    lines = ["Оплата бонусами"]
    for number, line in enumerate(told, start=1):
        lines.append(f"{number}. {line}")
        if line is zone_clause and zones:  # the zones' minimums right under the rule
            listed = ", ".join(f"«{code}» — {rub(amount)} ₽"
                               for code, amount in sorted(zones.items()))
            lines.append(f"Минимальная сумма заказа по зонам доставки: {listed}.")
    return [*lines, ""]


def _exclusion_clause(program: Program, exclusion: Exclusion) -> str:
    """«Заказ в кафе с блюдом из раздела «Бизнес-ланч»: бонусы на весь заказ с этим блюдом
    начисляются в размере 3%, но не списываются.»"""
    rule = next((r for r in program.accrual if r.when == exclusion.when), None)
    when = describe(exclusion.when, program.categories)
    if rule is None:
        return f"Если {when}, бонусы начисляются, но не списываются."
    whole = "на весь заказ с этим блюдом" if _names_category(exclusion.when) else "на весь заказ"
    earns = (f"начисляются в размере {rub(rule.percent)}%, но не списываются" if rule.percent
             else "не начисляются и не списываются")
    return f"{_sentence(when)}: бонусы {whole} {earns}."


def _names_category(node: object) -> bool:
    if category_named(node) is not None:
        return True
    if not isinstance(node, dict) or len(node) != 1:
        return False
    args = next(iter(node.values()))
    return any(_names_category(arg) for arg in (args if isinstance(args, list) else [args]))


def _zone_clause(program: Program) -> str:
    if not program.zone_minimum_channels:
        return ""
    channels = " и ".join(CHANNEL_PREPOSITIONAL[c] for c in sorted(program.zone_minimum_channels))
    line = (f"При {channels} итоговая сумма к оплате с учётом списанных бонусов не может быть "
            "меньше минимальной суммы заказа в зоне доставки гостя.")
    for example in program.redemption_examples:  # a sentence each: they read one at a time
        line += f" Пример: {_example_cap(program, example)}."
    return line


def _example_cap(program: Program, example: Mapping) -> str:
    """The cap of a worked example and what set it: the percentage or the zone's minimum."""
    minimum = Decimal(example.get("zone_min_order", "0"))
    decision = evaluate_example(program, example)
    cap = rub(decision.redeem_max)
    told = (f"{_example_name(example, program)} при минимальной сумме заказа в зоне "
            f"{rub(minimum)} ₽ можно оплатить бонусами до {cap} ₽")
    limits = {reason.rule for reason in decision.explanation}
    if "redeem.zone_minimum" in limits:
        share = rub(program.round_cap(decision.total * program.cap_share))
        return (f"{told}: {rub(program.max_percent)}% были бы {share} ₽, но к оплате должно "
                f"остаться не меньше {rub(minimum)} ₽")
    return f"{told} ({rub(program.max_percent)}% от суммы заказа)"


def _promo_clause(limit: int) -> str:
    if limit == 0:  # an order with one is refused outright
        return "Промокоды в заказах не принимаются."
    if limit == 1:
        return "В заказе может быть использован только один промокод, на выбор гостя."
    return f"В заказе может быть использовано не более {limit} " \
           f"{plural(limit, 'промокода', 'промокодов', 'промокодов')}."


def _during(count: int) -> str:
    """«12 месяцев», «1 месяц» as the span that passed."""
    return months(count)


def _expiry(program: Program) -> list[str]:
    """Short sentences, one thought each: when, from what, an example, the edge cases."""
    idle, last = program.idle_months, EXAMPLE_LAST_ORDER
    kept = anniversary(last, idle, program.month_end)
    missing = ("последний день месяца" if program.month_end == "clamp"
               else "первый день следующего месяца")
    lines = ["Сгорание бонусов",
             f"Если {_during(idle)} не было заказов на номер, указанный при регистрации, "
             "бонусы сгорают.",
             "Срок считается от последнего выполненного заказа. Если заказов ещё не было — "
             "от регистрации.",
             f"Бонусы сгорают в ночь после того же числа через {months(idle)}. Даты считаются "
             f"{_zone_time(program)}.",
             f"Пример: последний заказ был {last:%d.%m.%Y}. Бонусы сгорят в ночь на "
             f"{kept + timedelta(days=1):%d.%m.%Y}. Заказ {kept:%d.%m.%Y} их сохранит.",
             f"Если такого числа в месяце нет, считается {missing}.",
             "Заказ, отменённый после оплаты, тоже продлевает срок."
             if program.cancelled_orders == "count"
             else "Заказ, отменённый после оплаты, срок не продлевает."]
    if program.open_orders == "wait":
        lines.append("Если заказ оформлен, но ещё не выполнен, бонусы в эту ночь не сгорают. "
                     "Выполненный заказ начинает срок заново. Если заказ отменят или не "
                     f"выполнят за {_hours_accusative(program.open_order_hours)} после "
                     "оформления, бонусы сгорят в следующую ночь.")
    return [*lines, "", CONCLUSION]


def _hours_accusative(count: int) -> str:
    """«за 24 часа», «за 1 час», «за 5 часов»."""
    return f"{count} {plural(count, 'час', 'часа', 'часов')}"
