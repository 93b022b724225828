"""Form fields as people type them, each mistake answered in Russian next to its field."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from flask import current_app

import rules
import sms

CODE = re.compile(r"[0-9]{6}")  # ASCII: \d would pass other scripts' digits to the hash
MAX_REASON = 500
PHONE_EXAMPLE = "Например: 8 912 345-67-89"
AMOUNT_EXAMPLE = (
    "Сумма — число бонусов, до 10 000 000. "
    "Например: 150 или 1 000."
)


class FieldError(ValueError):
    """Bad input in one form field; `message` is what the page shows beside it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def phone(raw: str | None, field: str = "phone") -> str:
    """A mobile number in any common format → E.164, under the served country codes."""
    allowed = current_app.extensions["bonus_settings"].allowed_country_codes
    try:
        return sms.normalise_phone(raw or "", allowed_country_codes=allowed)
    except sms.PhoneError as error:
        raise FieldError(field, _phone_message(error.reason)) from None


def _phone_message(reason: str) -> str:
    # sms/ explains in English for logs and the API; guests and operators read Russian
    if "empty" in reason:
        return f"Введите номер мобильного телефона. {PHONE_EXAMPLE}"
    if "not served" in reason:
        return "Номера этой страны в программе не участвуют."
    if "not a mobile" in reason:
        return "Это не мобильный номер: на него не придёт СМС."
    return f"Не получается прочитать номер. {PHONE_EXAMPLE}"


def code(raw: str | None) -> str:
    """The six digits of the SMS, spaces forgiven; full-width digits (１２３) read as 123."""
    digits = re.sub(r"\s", "", unicodedata.normalize("NFKC", raw or ""))
    if not CODE.fullmatch(digits):
        raise FieldError("code", "Введите 6 цифр из СМС.")
    return digits


def amount(raw: str | None) -> Decimal:
    """A positive amount of bonuses: '150', '1 000'; the direction is chosen apart."""
    text = re.sub(r"[\s\u00a0]", "", raw or "").replace(",", ".")
    if not text:
        raise FieldError("amount", "Укажите, сколько бонусов.")
    if text[0] in "+-−":
        raise FieldError("amount", "Без знака: начислить или списать — выберите выше.")
    try:
        value = rules.parse_amount(text, "amount")
    except rules.AmountError:
        raise FieldError("amount", AMOUNT_EXAMPLE) from None
    if value == 0:
        raise FieldError("amount", "Сумма должна быть больше нуля.")
    return value


def reason(raw: str | None) -> str:
    """Why the balance is corrected: required, so the audit trail explains itself."""
    text = " ".join((raw or "").split())
    if not text:
        raise FieldError("reason", "Укажите причину: без неё корректировку не провести.")
    if len(text) > MAX_REASON:
        raise FieldError("reason", f"Не длиннее {MAX_REASON} символов.")
    return text


def direction(raw: str | None) -> int:
    """+1 to credit, -1 to debit; there is no default, so a debit is never an accident."""
    if raw == "credit":
        return 1
    if raw == "debit":
        return -1
    raise FieldError("direction", "Выберите: начислить или списать.")
