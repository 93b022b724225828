"""The published rules page shows the program in force, readable on a phone."""

from playwright.sync_api import expect

from tests.browser.steps import assert_fits_a_phone, screenshots


def test_the_rules_page_shows_the_percentages_of_the_program_in_force(open_page, shop):
    page = open_page("/rules")
    expect(page.get_by_role("heading", level=1)).to_have_text("Бонусная программа ВилкиНет")
    rules = page.locator("article.rules")
    expect(rules).to_contain_text("Версия 2024-01-01-default, действует с 01.01.2024")
    for words in ("зачисляется 3% от суммы, оплаченной деньгами",
                  "зачисляется 10% от суммы, оплаченной деньгами",
                  "оплатить до 20% от суммы заказа", "«Север» — 500 ₽"):  # fmt: skip
        expect(rules).to_contain_text(words)
    assert_fits_a_phone(page)
    screenshots(page, "rules")
