"""A guest logs in to the cabinet in a real browser and sees what an order earned."""

from playwright.sync_api import expect

from tests.support.browser import (
    assert_every_input_is_labelled,
    assert_fits_a_phone,
    screenshots,
    typed_like_a_person,
)
from tests.support.phones import new_phone
from tests.support.shop import pickup


def test_a_guest_logs_in_with_the_sms_code_and_sees_the_bonuses_of_a_completed_order(
    open_page, shop, fake_twilio
):
    phone = new_phone()
    page = open_page("/cabinet")
    assert_every_input_is_labelled(page)
    page.get_by_label("Номер мобильного телефона").fill(typed_like_a_person(phone))
    page.get_by_role("button", name="Получить код").click()

    code = fake_twilio.last_code(phone)
    page.get_by_label("Код из СМС").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Войти").click()
    code_field = page.get_by_label("Код из СМС")
    expect(page.locator("#code-error")).to_have_text("Неверный код. Осталось попыток: 4.")
    expect(code_field).to_have_attribute("aria-describedby", "code-hint code-error")
    screenshots(page, "cabinet-wrong-code")

    code_field.fill(code)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_test_id("balance")).to_have_text("0 бонусов")
    [cookie] = page.context.cookies()
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Lax")

    placed = shop.place(phone, pickup("1000.00"))  # pickup over 500: 10%
    assert shop.complete(placed.get_json()["id"]).status_code == 200
    page.reload()
    expect(page.get_by_test_id("balance")).to_have_text("100 бонусов")
    expect(page.get_by_test_id("available")).to_have_text("100 бонусов")
    expect(page.get_by_test_id("burns-at")).to_contain_text("Бонусы сгорят")
    expect(page.locator(".history__reason").first).to_have_text(
        f"Начислено 100 бонусов за заказ {placed.get_json()['id']}"
    )
    assert_fits_a_phone(page)
    screenshots(page, "cabinet-account")

    page.get_by_role("button", name="Выйти", exact=True).click()
    expect(page.get_by_label("Номер мобильного телефона")).to_be_visible()
