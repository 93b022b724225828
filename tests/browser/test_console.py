"""An operator finds a guest in the console, corrects the balance, and the guest sees it; a
credit over the review line waits until a supervisor approves it on the review page."""

from playwright.sync_api import expect

from tests.support.browser import (
    assert_every_input_is_labelled,
    assert_fits_a_phone,
    log_in_to_the_cabinet,
    log_in_to_the_console,
    screenshots,
    typed_like_a_person,
)
from tests.support.pages import PASSWORD, make_operator
from tests.support.phones import new_phone
from tests.support.shop import delivery

REASON = "Компенсация за опоздание курьера"


def test_an_operator_adjusts_a_guest_found_by_a_typed_phone_and_the_guest_sees_it(
    app, open_page, shop, fake_twilio
):
    phone = new_phone()
    guest = open_page("/cabinet")
    log_in_to_the_cabinet(guest, fake_twilio, phone)
    placed = shop.place(phone, delivery("1000.00")).get_json()  # delivery: 3%
    shop.complete(placed["id"])
    make_operator(app, "anna")

    console = open_page("/console")
    log_in_to_the_console(console, "Anna", PASSWORD)
    console.get_by_label("Телефон гостя").fill(typed_like_a_person(phone))
    console.get_by_role("button", name="Найти").click()
    expect(console.get_by_test_id("balance")).to_have_text("30 бонусов")
    expect(console.get_by_test_id("last-order")).to_contain_text(placed["id"])
    assert_every_input_is_labelled(console)

    console.get_by_label("Начислить").check()
    console.get_by_label("Сколько бонусов").fill("50")
    console.get_by_label("Причина").fill(REASON)
    console.get_by_role("button", name="Провести").click()
    expect(console.get_by_role("status")).to_have_text("Начислено 50 бонусов.")
    expect(console.get_by_test_id("balance")).to_have_text("80 бонусов")
    assert_fits_a_phone(console)
    screenshots(console, "console-guest")

    guest.reload()
    expect(guest.get_by_test_id("balance")).to_have_text("80 бонусов")
    expect(guest.locator(".history__reason").first).to_have_text(
        f"Начислено оператором 50 бонусов: {REASON}"
    )

    console.get_by_label("Начислить").check()
    console.get_by_label("Сколько бонусов").fill("2 000")
    console.get_by_label("Причина").fill(REASON)
    console.get_by_role("button", name="Провести").click()
    expect(console.get_by_role("status")).to_contain_text("Начисление 2000 бонусов ждёт проверки")
    expect(console.get_by_test_id("pending")).to_contain_text(REASON)
    expect(console.get_by_test_id("balance")).to_have_text("80 бонусов")
    expect(console.get_by_role("link", name="Журнал")).to_have_count(0)  # the supervisors'

    make_operator(app, "sveta", role="supervisor")
    review = open_page("/console")
    log_in_to_the_console(review, "sveta", PASSWORD)
    review.get_by_role("link", name="На проверке").click()
    expect(review.get_by_test_id("pending")).to_contain_text("anna (оператор anna)")
    assert_every_input_is_labelled(review)
    assert_fits_a_phone(review)
    screenshots(review, "console-review")
    review.get_by_role("button", name="Одобрить и начислить").click()
    expect(review.get_by_role("status")).to_contain_text("одобрена")
    guest.reload()
    expect(guest.get_by_test_id("balance")).to_have_text("2080 бонусов")

    review.get_by_role("link", name="Журнал").click()
    adjusted = review.locator(".audit__entry", has_text="Корректировка баланса")
    expect(adjusted).to_contain_text("оператор anna")
    expect(adjusted).to_contain_text(REASON)
    approved = review.locator(".audit__entry", has_text="Корректировка одобрена")
    expect(approved).to_contain_text("оператор sveta")
    screenshots(review, "console-audit")
