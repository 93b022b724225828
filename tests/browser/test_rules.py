"""The published rules page shows the program in force, readable on a phone."""

from playwright.sync_api import expect

from tests.support.browser import assert_fits_a_phone, screenshots


def test_the_rules_page_reads_as_the_restaurants_rules(open_page, shop):
    page = open_page("/rules")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Бонусная программа ВилкиНет — правила с 01.01.2024")
    rules = page.locator("article.rules")
    for words in ("зачисляется 3% от суммы заказа", "зачисляется 10% от суммы заказа",
                  "оплатить до 20% от суммы заказа", "«Север» — 500 ₽",
                  "бонусы на весь заказ с этим блюдом начисляются в размере 3%, но не списываются",
                  "можно оплатить бонусами до 100 ₽: 20% были бы 120 ₽",
                  "только один промокод, на выбор гостя"):  # fmt: skip
        expect(rules).to_contain_text(words)
    # the version id is small print, under the text
    expect(rules.locator(".rules__version small")).to_have_text(
        "Версия правил: 2024-01-01-default")
    expect(rules.get_by_role("heading", level=1)).not_to_contain_text("2024-01-01-default")
    assert_fits_a_phone(page)
    screenshots(page, "rules")
