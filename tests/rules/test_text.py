"""The published text is generated from the program data, so it follows every change."""

import copy
from decimal import Decimal

import pytest

from rules import load_program, render_text
from rules.describe import describe


def changed(program, change):
    data = copy.deepcopy(program.data)
    change(data)
    return render_text(load_program(data))


def test_the_text_tells_every_rule_of_the_default_program(program):
    text = render_text(program)
    for phrase in ("1 бонус = 1 рублю", "только зарегистрированные гости",
                   "Заказ на доставку, заказ в кафе или заказ на самовывоз на сумму до 500 ₽ "
                   "включительно", "Заказ на самовывоз на сумму более 500 ₽",
                   "зачисляется 3% от суммы заказа", "зачисляется 10% от суммы заказа",
                   "заказ на доставку на 1000 ₽ — гость получает 30 бонусов",
                   "заказ на самовывоз на 1000 ₽ — гость получает 100 бонусов",
                   "до 20% от суммы заказа", "не больше доступного баланса",
                   "меньше минимальной суммы заказа в зоне доставки",
                   "на 800 ₽ при минимальной сумме заказа в зоне 500 ₽ можно оплатить бонусами "
                   "до 160 ₽", "«Бизнес-ланч»", "Если в заказе есть промокод, бонусы "
                   "начисляются, но не списываются.",
                   "на сайте vilkinet.ru или у оператора колл-центра",
                   "в личном кабинете на сайте vilkinet.ru",
                   "в одностороннем порядке изменять бонусную программу",
                   "в натуральном или денежном эквиваленте они не выдаются",
                   "Пример: последний заказ был 15.03.2025. Бонусы сгорят в ночь на 16.03.2026. "
                   "Заказ 15.03.2026 их сохранит.",
                   "только один промокод, на выбор гостя", "Если 12 месяцев не было заказов",
                   "округляются вниз до целого", "в том числе на часть, оплаченную бонусами",
                   "Сумма заказа — стоимость блюд за вычетом скидки по промокоду.",
                   "в кафе и по телефону — назвать кассиру или оператору код для оплаты "
                   "бонусами из смс. Код для входа в личный кабинет не сообщайте никому.",
                   "«Использовать бонусы»", "Бонусы списываются только целыми."):
        assert phrase in text, phrase


def test_the_general_rules_come_first_then_the_business_lunch_in_the_rules_own_words(program):
    text = render_text(program)
    general = text.index("1. Заказ на доставку, заказ в кафе или заказ на самовывоз")
    lunch = text.index("Заказ в кафе с блюдом из раздела «Бизнес-ланч»: бонусы на весь заказ "
                       "с этим блюдом начисляются в размере 3%, но не списываются.")
    assert general < text.index("2. Заказ на самовывоз на сумму более 500 ₽") < lunch
    assert "первое" not in text and "несколько правил" not in text
    assert "несколько пунктов" not in text  # the default program's rules never overlap


def test_the_zone_minimum_has_an_example_where_it_and_not_the_percentage_limits(program):
    assert ("заказ на доставку на 600 ₽ при минимальной сумме заказа в зоне 500 ₽ можно оплатить "
            "бонусами до 100 ₽: 20% были бы 120 ₽, но к оплате должно остаться не меньше "
            "500 ₽") in render_text(program)


def test_the_heading_gives_the_date_and_the_version_id_is_left_to_the_small_print(program):
    text = render_text(program)
    assert text.startswith("Бонусная программа ВилкиНет — правила с 01.01.2024\n")
    assert program.version not in text and "Версия" not in text
    upcoming = render_text(program, upcoming=True)
    assert upcoming.startswith("Бонусная программа ВилкиНет — новые правила с 01.01.2024\n")


def test_the_expiry_paragraph_is_short_sentences(program):
    text = render_text(program)
    told = text[text.index("Сгорание бонусов"):text.index("Бонусы являются")]
    sentences = [s for s in told.replace("\n", " ").split(". ") if s.strip()]
    assert max(len(s.split()) for s in sentences) <= 20, max(sentences, key=len)


def test_rules_that_overlap_say_which_one_decides_in_a_guests_words(program):
    def app_orders(data):
        data["accrual"].insert(1, {
            "id": "app", "percent": "5", "message": "Заказ в приложении",
            "when": {"==": [{"var": "source"}, "app"]},
            "example": {"channel": "delivery", "total": "1000.00", "source": "app"}})

    text = changed(program, app_orders)
    assert "Если заказ подходит под несколько пунктов, действует тот, что выше." in text


@pytest.mark.parametrize(("when", "told"), [
    ({"not": {"in": ["business_lunch", {"var": "categories"}]}},
     "в заказе нет блюда из раздела «Бизнес-ланч»"),
    ({"==": [{"var": "zone"}, "north"]}, "зона доставки «north»"),
    ({"or": [{"==": [{"var": "channel"}, "cafe"]}, {"==": [{"var": "channel"}, "pickup"]}]},
     "заказ в кафе или заказ на самовывоз"),
    ({"and": [{"==": [{"var": "channel"}, "pickup"]}, {"==": [{"var": "source"}, "app"]}]},
     "заказ на самовывоз и заказ в мобильном приложении"),  # not one kind of order: as is
])
def test_conditions_read_as_russian(program, when, told):
    assert describe(when, program.categories) == told


def test_the_zones_are_listed_when_given(program):
    text = render_text(program, {"north": Decimal("500.00"), "south": Decimal("700.50")})
    assert "«north» — 500 ₽, «south» — 700,50 ₽" in text


def test_a_new_threshold_changes_the_text_and_its_examples(program):
    def raise_threshold(data):
        data["accrual"][1]["when"]["or"][2]["and"][1] = {"<=": [{"var": "total"}, "600.00"]}
        data["accrual"][2]["when"]["and"][1] = {">": [{"var": "total"}, "600.00"]}

    text = changed(program, raise_threshold)
    assert "на самовывоз на сумму более 600 ₽" in text
    assert "500 ₽ включительно" not in text


def test_new_percentages_change_the_text_and_its_worked_examples(program):
    def richer(data):
        data["accrual"][2]["percent"] = "12"
        data["redemption"]["max_percent"] = "30"

    text = changed(program, richer)
    assert "зачисляется 12% от суммы заказа" in text
    assert "на 1000 ₽ — гость получает 120 бонусов" in text
    assert "до 30% от суммы заказа" in text
    assert "можно оплатить бонусами до 240 ₽" in text


def test_expiry_rounding_and_promo_settings_change_the_text(program):
    def settings(data):
        data["expiry"] = {"idle_months": 6, "month_end": "roll", "cancelled_orders": "count"}
        data["rounding"] = {"mode": "half_up", "quantum": "0.01"}
        data["accrual_base"] = "paid"
        data["max_promo_codes"] = 2

    text = changed(program, settings)
    assert "Если 6 месяцев не было заказов" in text
    assert "такого числа в месяце нет, считается первый день следующего месяца" in text
    assert "последний заказ был 15.03.2025. Бонусы сгорят в ночь на 16.09.2025" in text
    assert "Заказ, отменённый после оплаты, тоже продлевает срок." in text
    assert "по правилам арифметики до копейки" in text
    assert "только целыми" not in text and "кратными" not in text  # any kopeck may be spent
    assert "за вычетом списанных бонусов" in text
    assert "зачисляется 3% от суммы, оплаченной деньгами" in text
    assert "не более 2 промокодов" in text


def test_the_text_names_the_time_zone_in_russian_and_counts_from_registration(program):
    text = render_text(program)
    assert "Даты считаются по московскому времени." in text
    assert "Europe/Moscow" not in text
    assert "Срок считается от последнего выполненного заказа. Если заказов ещё не было — от " \
        "регистрации." in text
    assert "00:00" not in text  # the night's job runs at 03:00: no hour the page cannot keep


def test_a_program_taking_no_promo_codes_says_they_are_not_accepted(program):
    def none(data):
        data["max_promo_codes"] = 0

    text = changed(program, none)
    assert "Промокоды в заказах не принимаются." in text  # such an order is refused
    assert "с бонусами не используются" not in text


def test_the_published_program_says_a_cancelled_order_does_not_count(program):
    assert "Заказ, отменённый после оплаты, срок не продлевает." in changed(program, lambda d: None)


def test_a_removed_exclusion_leaves_the_text(program):
    text = changed(program, lambda data: data["redemption"]["exclusions"].pop(1))
    assert "в заказе есть промокод" not in text


def test_days_and_hours_read_as_russian_and_a_zero_rule_earns_nothing(program):
    def rules_of_time(data):
        for rule in data["accrual"]:  # a Tuesday noon: none of the new rules' times
            rule["example"]["at"] = "2024-01-02T12:00"
        data["accrual"][:0] = [
            {"id": "below_300", "percent": "0", "message": "Заказ до 300 ₽",
             "when": {"<": [{"var": "total"}, "300.00"]}},
            {"id": "happy_hours", "percent": "6", "message": "Счастливые часы",
             "when": {"and": [{">=": [{"var": "hour"}, 15]}, {"<": [{"var": "hour"}, 17]}]},
             "example": {"channel": "delivery", "total": "1000.00", "source": "app",
                         "at": "2024-01-03T15:30"}},
            {"id": "mondays", "percent": "6", "message": "Понедельник",
             "when": {"==": [{"var": "weekday"}, 1]}},
            {"id": "weekends", "percent": "5", "message": "Выходные",
             "when": {"in": [{"var": "weekday"}, [6, 7]]}},
        ]

    text = changed(program, rules_of_time)
    assert "1. Сумма заказа менее 300 ₽: бонусы не начисляются." in text
    assert "2. Заказ с 15:00 до 17:00: на персональный счёт зачисляется 6%" in text
    assert ("Пример: заказ на доставку в мобильном приложении в среду в 15:30 на 1000 ₽ — "
            "гость получает 60 бонусов.") in text
    assert "3. Заказ в понедельник: на персональный счёт" in text
    assert "4. Заказ в субботу или в воскресенье: на персональный счёт" in text
