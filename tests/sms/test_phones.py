"""Phone numbers as guests and operators type them, and the ones the service refuses."""

import pytest

from sms import PhoneError, normalise_phone


@pytest.mark.parametrize(
    "typed",
    [
        "8 912 345-67-89",
        "+7 (912) 345 67 89",
        "9123456789",
        "89123456789",
        "+79123456789",
        "79123456789",
        "7 (912) 345-67-89",
        "8(912)3456789",
        "+7-912-345-67-89",
        "8-912-345-67-89",
        "8 (912) 345 67 89",
        "+7 912 345.67.89",
        "  +7 912 345 67 89\n",
        "+7\u00a0912\u00a0345\u00a067\u00a089",
    ],
)
def test_a_russian_mobile_in_any_usual_format_becomes_e164(typed):
    assert normalise_phone(typed) == "+79123456789"


def test_other_russian_mobile_ranges_are_accepted():
    assert normalise_phone("8 958 123-45-67") == "+79581234567"
    assert normalise_phone("8 999 123-45-67") == "+79991234567"


@pytest.mark.parametrize(
    "typed",
    ["912345678", "+7 912 345 67 890", "8 000 000 00 00", "00 7 912 345 67 89", "+8 912 345"],
)
def test_a_number_that_is_not_a_valid_phone_is_refused(typed):
    with pytest.raises(PhoneError):
        normalise_phone(typed)


@pytest.mark.parametrize("typed", ["", "   ", "abc", "phone", "+", "()"])
def test_empty_input_and_garbage_are_refused(typed):
    with pytest.raises(PhoneError):
        normalise_phone(typed)


@pytest.mark.parametrize("value", [None, 79123456789, b"+79123456789", ["+79123456789"]])
def test_a_value_that_is_not_a_string_is_refused(value):
    with pytest.raises(PhoneError, match="must be a string"):
        normalise_phone(value)


@pytest.mark.parametrize("typed", ["8-912-FOO-67-89", "+79123456789 ext 12", "+7912345678９x"])
def test_letters_are_refused_rather_than_read_as_a_vanity_number_or_an_extension(typed):
    with pytest.raises(PhoneError, match="only digits"):
        normalise_phone(typed)


def test_input_longer_than_32_characters_is_refused_before_parsing():
    with pytest.raises(PhoneError, match="longer than 32"):
        normalise_phone("+7 912 345 67 89" + " " * 17)
    with pytest.raises(PhoneError, match="longer than 32"):
        normalise_phone("9" * 100_000)


def test_a_foreign_number_is_refused_by_its_country_code():
    with pytest.raises(PhoneError) as caught:
        normalise_phone("+44 7911 123456")
    assert caught.value.reason == "country code +44 is not served"


def test_a_foreign_number_is_accepted_when_its_country_is_allowed():
    allowed = frozenset({7, 44})
    assert normalise_phone("+44 7911 123456", allowed_country_codes=allowed) == "+447911123456"


def test_the_default_region_reads_numbers_without_a_country_code():
    assert normalise_phone("07911 123456", region="GB", allowed_country_codes=frozenset({44}))


@pytest.mark.parametrize("landline", ["8 495 123-45-67", "+7 (3412) 12-34-56", "8 800 555-35-35"])
def test_a_russian_landline_or_toll_free_number_is_refused_as_it_cannot_receive_sms(landline):
    with pytest.raises(PhoneError, match="not a mobile number"):
        normalise_phone(landline)


def test_phone_error_is_a_value_error_with_an_english_reason():
    with pytest.raises(ValueError) as caught:
        normalise_phone("12")
    assert isinstance(caught.value, PhoneError)
    assert caught.value.reason == str(caught.value)
    assert caught.value.reason.isascii()
