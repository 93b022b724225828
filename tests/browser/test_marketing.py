"""Marketing in Chromium: drafts a version through the form (a mistake answered beside its
field first), replays it on the real orders and waits for the charts, publishes it with a
date and sees it upcoming; then opens the books. Screenshots at 360 px and desktop."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support.browser import (
    assert_every_input_is_labelled,
    assert_fits_a_phone,
    log_in_to_the_console,
    screenshots,
)
from tests.support.pages import PASSWORD, make_operator
from tests.support.shop import order_id, pickup

PICKUP_PERCENT = "Процент: Самовывоз на сумму более 500 ₽"


def images_drawn(page) -> list[str]:
    """The chart images Chromium could not draw (an SVG refused, a 403, a broken document),
    once the page has loaded (its images included)."""
    page.wait_for_load_state("load")
    return page.evaluate(
        """[...document.querySelectorAll('figure.chart img')]
             .filter(img => !img.complete || img.naturalWidth === 0).map(img => img.src)"""
    )


def test_marketing_drafts_replays_and_publishes_a_version_then_reads_the_books(
    app, open_page, shop
):
    phone, _ = shop.guest()
    for total in ("1000.00", "800.00"):
        oid = order_id()
        assert shop.place(phone, pickup(total), oid=oid).status_code == 201
        assert shop.complete(oid).status_code == 200
    make_operator(app, "mila", role="marketing")

    console = open_page("/console")
    log_in_to_the_console(console, "mila", PASSWORD)
    console.get_by_role("link", name="версии программы").click()
    console.get_by_role("link", name="Новый черновик").click()
    assert_every_input_is_labelled(console)

    console.get_by_label("Название версии (латиницей)").fill("summer-2027")
    console.get_by_label(PICKUP_PERCENT).fill("150")
    console.get_by_role("button", name="Сохранить черновик").click()
    error = console.locator("#accrual-2-percent-error")
    expect(error).to_have_text("Укажите процент: число от 0 до 100, не больше двух знаков "
                               "после запятой.")  # fmt: skip
    expect(console.get_by_label(PICKUP_PERCENT)).to_have_attribute("aria-invalid", "true")
    screenshots(console, "marketing-draft-error")

    console.get_by_label(PICKUP_PERCENT).fill("12")
    console.get_by_role("button", name="Сохранить черновик").click()
    expect(console.get_by_role("status")).to_have_text("Черновик summer-2027 сохранён.")
    diff = console.get_by_test_id("diff")
    expect(diff.locator("ins").filter(has_text="зачисляется 12%")).to_have_count(1)
    expect(diff.locator("del").filter(has_text="зачисляется 10%")).to_have_count(1)
    assert_fits_a_phone(console)
    screenshots(console, "marketing-draft")

    console.get_by_role("button", name="Пересчитать заказы").click()
    # the page reloads itself while the replay runs; then the result replaces the progress
    expect(console.get_by_test_id("result")).to_be_visible(timeout=30_000)
    expect(console.get_by_test_id("orders")).to_have_text("2")
    accrued = console.get_by_test_id("table-accrued")
    expect(accrued.locator("tbody td").nth(0)).to_have_text("180\u00a0₽")  # 10% of 1000 and of 800
    expect(accrued.locator("tbody td").nth(1)).to_have_text("216\u00a0₽")  # 12% of both
    expect(console.get_by_test_id("chart-accrued")).to_have_attribute(
        "alt", "Начислено бонусов: было и по новой версии, по месяцам. Числа — в таблице ниже."
    )
    assert images_drawn(console) == []
    assert_fits_a_phone(console)
    screenshots(console, "marketing-replay")

    console.get_by_role("link", name="← Версия summer-2027").click()
    console.get_by_label("Вступает в силу").fill("2027-02-01T00:00")
    console.get_by_role("button", name="Опубликовать").click()
    expect(console.get_by_role("status")).to_have_text(
        "Версия summer-2027 опубликована: вступит в силу 01.02.2027 00:00."
    )
    row = console.locator('tr[data-version="summer-2027"]')
    expect(row.get_by_test_id("state")).to_have_text(
        "опубликована, вступит в силу 01.02.2027 00:00"
    )
    assert_fits_a_phone(console)
    screenshots(console, "marketing-programs")

    console.get_by_role("link", name="Книга бонусов").click()
    expect(console.get_by_test_id("outstanding")).to_have_text("180 бонусов")
    expect(console.get_by_test_id("table-months").locator("tbody tr")).to_have_count(12)
    expect(console.get_by_test_id("table-burns").locator("tbody tr")).to_have_count(13)
    assert images_drawn(console) == []
    assert_fits_a_phone(console)
    screenshots(console, "marketing-books")
