"""The restaurant's rules, sentence by sentence, over real HTTP: quote, place, complete.

Each test is a sentence of `bonus-rules.ru.txt` (or a case the rules decide) tried the way a
till does it, against the app behind a real server; docs/rules.md maps the sentences to them.
"""

from __future__ import annotations

import pytest
import requests

from tests.support.shop import Shop, cafe, delivery, pickup


class _Answer:
    """A requests response read the way the shared test verbs read Flask's."""

    def __init__(self, response: requests.Response):
        self.status_code = response.status_code
        self.text = response.text
        self._response = response

    def get_json(self):
        return self._response.json()


class _OverHttp:
    """The verbs of Flask's test client that `Shop` uses, sent over a real socket."""

    def __init__(self, base_url: str, application):
        self.base_url = base_url
        self.application = application  # as Flask's client has it: the shop signs up staff
        self.session = requests.Session()

    def _send(self, method: str, path: str, **kwargs) -> _Answer:
        return _Answer(self.session.request(method, self.base_url + path, timeout=30, **kwargs))

    def get(self, path, **kwargs):
        return self._send("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self._send("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self._send("PUT", path, **kwargs)


@pytest.fixture
def till(app, live_server, fake_twilio, make_key) -> Shop:
    """A till's keys against the live server, with zone north (minimum 500)."""
    shop = Shop(_OverHttp(live_server, app), fake_twilio, make_key("checkout", name="cafe-pos-12"),
                make_key("operator", name="call-center"), make_key("admin", name="admin"))
    shop.zone("north", "500.00", "Север")
    return shop


def _sell(till: Shop, order: dict, *, balance: str = "1000", redeem: str = "0") -> dict:
    """Quote, place (spending `redeem` with the guest's token) and complete; the figures."""
    phone, token = till.guest(balance)
    quote = till.quote(order, phone, redeem=redeem).get_json()
    placed = till.place(phone, order, redeem=redeem, token=token)
    assert placed.status_code == 201, placed.get_json()
    completed = till.complete(placed.get_json()["id"]).get_json()
    return {"quote": quote, "accrued": completed["accrued"], "balance": completed["balance"]}


def test_rule_1_delivery_of_1000_earns_30_bonuses(till):
    """«если оформлен заказ на доставку на 1000 рублей, гость получает 30 бонусов»"""
    sold = _sell(till, delivery("1000.00"), balance="0")
    assert (sold["quote"]["accrual"], sold["accrued"], sold["balance"]) == (
        "30.00", "30.00", "30.00")


def test_rule_2_pickup_of_1000_earns_100_bonuses(till):
    """«при оформлении заказа на самовывоз на 1000 рублей, гость получает 100 бонусов»"""
    assert _sell(till, pickup("1000.00"), balance="0")["accrued"] == "100.00"


def test_pickup_of_1000_paying_200_with_bonuses_still_earns_100(till):
    """«10% от суммы заказа»: the bonuses spent are part of the order's amount."""
    sold = _sell(till, pickup("1000.00"), redeem="200")
    assert (sold["quote"]["accrual"], sold["accrued"]) == ("100.00", "100.00")
    assert sold["balance"] == "900.00"  # 1000 − 200 + 100


def test_redemption_rule_1_delivery_of_800_in_a_500_zone_caps_at_160_and_paying_it_earns_24(till):
    """«если гость оформил заказ на 800 рублей и в его зоне доставки минимальная сумма заказа
    составляет 500 рублей, он можете оплатить бонусами до 160 рублей»; 3% of 800 is 24."""
    sold = _sell(till, delivery("800.00"), redeem="160")
    assert (sold["quote"]["redeem_max"], sold["accrued"], sold["balance"]) == (
        "160.00", "24.00", "864.00")


def test_delivery_of_600_in_a_500_zone_is_capped_by_the_zone_minimum_at_100(till):
    phone, _ = till.guest("1000")
    quote = till.quote(delivery("600.00"), phone).get_json()
    assert quote["redeem_max"] == "100.00"
    assert "redeem.zone_minimum" in [line["rule"] for line in quote["explanation"]]


def test_redemption_rule_2_pickup_and_cafe_spend_up_to_20_percent_without_a_zone(till):
    phone, _ = till.guest("1000")
    for order in (pickup("300.00"), cafe("300.00")):
        assert till.quote(order, phone).get_json()["redeem_max"] == "60.00"


@pytest.mark.parametrize("label", ["business_lunch", "Business_Lunch", "business-lunch ",
                                   "Бизнес-ланч", "бизнес ланч"])
def test_redemption_rule_3_a_cafe_business_lunch_however_labelled_earns_3_percent_spends_none(
        till, label):
    """«При заказе блюда из раздела «Бизнес-ланч» в кафе, бонусы на весь заказ с этим блюдом
    начисляются в размере 3%, но не списываются.»"""
    phone, token = till.guest("1000")
    order = cafe("1000.00", label)
    quote = till.quote(order, phone, redeem="100").get_json()
    assert (quote["accrual"], quote["redeem_max"]) == ("30.00", "0.00")
    refused = till.place(phone, order, redeem="100", token=token)
    assert refused.status_code == 422, refused.get_json()
    assert _sell(till, order)["accrued"] == "30.00"


def test_a_business_lunch_bought_for_pickup_follows_the_ordinary_rules(till):
    sold = _sell(till, {**pickup("1000.00"), "items": [
        {"sku": "BL-1", "name": "Бизнес-ланч №1", "category": "Бизнес-ланч", "qty": 1,
         "price": "1000.00"}]}, redeem="200")
    assert (sold["quote"]["redeem_max"], sold["accrued"]) == ("200.00", "100.00")


def test_redemption_rule_5_a_promo_code_order_earns_but_spends_nothing(till):
    """«При использовании в заказе любого промокода бонусы начисляются, но не списываются.»"""
    phone, token = till.guest("1000")
    order = pickup("1000.00", promo_codes=["AUTUMN"], discount="100.00")
    quote = till.quote(order, phone).get_json()
    assert (quote["accrual"], quote["redeem_max"]) == ("90.00", "0.00")
    assert till.place(phone, order, redeem="10", token=token).status_code == 422


def test_redemption_rule_6_two_promo_codes_are_refused(till):
    """«В заказе может быть использован ТОЛЬКО один промокод, на выбор гостя»"""
    answer = till.quote(pickup("1000.00", promo_codes=["A", "B"]))
    assert answer.status_code == 422
    assert [e["field"] for e in answer.get_json()["errors"]] == ["order.promo_codes"]


def test_the_published_rules_page_says_the_rules_as_they_are_computed(till):
    page = till.client.get("/rules")
    assert page.status_code == 200
    for sentence in ("зачисляется 3% от суммы заказа", "зачисляется 10% от суммы заказа",
                     "бонусы на весь заказ с этим блюдом начисляются в размере 3%, но не "
                     "списываются", "до 100 ₽: 20% были бы 120 ₽", "на выбор гостя",
                     "правила с 01.01.2024"):
        assert sentence in page.text, sentence
