"""The Russian SMS texts: what they say, their grammar, and their length."""

from datetime import date
from decimal import Decimal

import pytest

from sms import texts

TWO_CYRILLIC_SEGMENTS = 2 * 67


def test_the_login_code_text_says_it_logs_in_and_is_told_to_nobody():
    assert texts.login_code("123456", 5) == (
        "Код для входа в ВилкиНет: 123456. Действует 5 минут. "
        "Никому его не сообщайте, даже кассиру или оператору."
    )


def test_the_spending_code_text_says_what_it_allows_and_whom_to_tell():
    assert texts.spending_code("123456", Decimal("150.00"), 5) == (
        "Код для оплаты бонусами до 150 ₽ одного заказа в ВилкиНет: 123456. "
        "Действует 5 минут: сообщите его кассиру."
    )
    assert "до 349,90 ₽" in texts.spending_code("123456", Decimal("349.90"), 5)


def test_the_registration_code_is_told_to_nobody_either():
    assert "Никому его не сообщайте." in texts.registered_by_operator("004217", 5)


def test_the_burn_warning_reads_as_published():
    assert texts.burn_warning(120, date(2026, 12, 5)) == (
        "ВилкиНет: 120 бонусов сгорят в ночь на 05.12. "
        "Сделайте заказ до конца 04.12, чтобы сохранить их."
    )


def test_a_guest_registered_by_the_call_center_learns_where_to_log_in_and_gets_a_code():
    text = texts.registered_by_operator("004217", 5)
    assert "vilkinet.ru" in text
    assert "004217" in text
    assert "5 минут" in text


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(1, "1 минуту"), (2, "2 минуты"), (5, "5 минут"), (11, "11 минут"), (21, "21 минуту")],
)
def test_minutes_agree_with_their_number(minutes, words):
    assert f"Действует {words}." in texts.login_code("123456", minutes)


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (1, "1 бонус сгорит"),
        (3, "3 бонуса сгорят"),
        (12, "12 бонусов сгорят"),
        (21, "21 бонус сгорит"),
        (Decimal("120.00"), "120 бонусов сгорят"),
        (Decimal("120.50"), "120,50 бонуса сгорят"),
    ],
)
def test_bonuses_agree_with_their_amount(amount, words):
    assert words in texts.burn_warning(amount, date(2026, 12, 5))


def test_every_text_fits_two_cyrillic_sms_segments_even_with_large_numbers():
    burns_on = date(2026, 12, 31)
    for text in (
        texts.login_code("999999", 15),
        texts.registered_by_operator("999999", 15),
        texts.spending_code("999999", Decimal("99999.99"), 15),
        texts.burn_warning(Decimal("99999.99"), burns_on),
    ):
        assert len(text) <= TWO_CYRILLIC_SEGMENTS, text

