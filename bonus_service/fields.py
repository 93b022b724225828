"""marshmallow fields in the restaurant's terms: an amount of roubles, a phone number."""

from __future__ import annotations

from decimal import Decimal

from flask import current_app
from marshmallow import ValidationError, fields

import rules
import sms
from bonus_service.http import NumberLiteral
from rules.money import CENT, money


class Amount(fields.Field):
    """Roubles: "349.90" or 349.9 in, "349.90" out; never a float."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, NumberLiteral):
            if value.exponent:
                raise ValidationError("exponent notation is not allowed; write the amount plainly")
            value = value.literal  # NaN, Infinity: refused as the same words in a string are
        try:
            return rules.parse_amount(value, attr or "amount")
        except ValueError as error:
            raise ValidationError(getattr(error, "reason", None) or str(error)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return amount_text(value)


def amount_text(value: Decimal | int | None) -> str | None:
    """An amount as the API writes it: Decimal roubles or int kopecks → "349.90"."""
    if value is None:
        return None
    if isinstance(value, int):
        value = money(value)
    return f"{Decimal(value).quantize(CENT)}"


class SignedAmount(Amount):
    """An amount that may be negative (a manual correction)."""

    def _deserialize(self, value, attr, data, **kwargs):
        negative = isinstance(value, str) and value.strip().startswith("-")
        if isinstance(value, Decimal | int) and not isinstance(value, bool) and value < 0:
            negative, value = True, -value
        elif negative:
            value = value.strip()[1:]
        amount = super()._deserialize(value, attr, data, **kwargs)
        return -amount if negative else amount


def normalise_phone(raw: str) -> str:
    """E.164 for a number in any common format, under the configured country allow-list."""
    allowed = current_app.extensions["bonus_settings"].allowed_country_codes
    try:
        return sms.normalise_phone(raw, allowed_country_codes=allowed)
    except sms.PhoneError as error:
        raise ValidationError(error.reason) from None


class Phone(fields.String):
    """A mobile number in any common format, normalised to E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        return normalise_phone(super()._deserialize(value, attr, data, **kwargs))


class OrderPhone(fields.String):
    """The phone an order is for, in any common format, normalised to E.164: any valid
    number. One that may not register is unregistered (zero bonuses, the reason said), as
    the contract serves any unknown phone; a number valid nowhere is 422."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return sms.normalise_any_phone(super()._deserialize(value, attr, data, **kwargs))
        except sms.PhoneError as error:
            raise ValidationError(error.reason) from None


class OrderField(fields.Nested):
    """The order as the contract defines it, parsed by rules.parse_order (one parser for all).

    Documented through the nested schema; loaded by the rules package, which names every bad
    field ("items.0.qty") and refuses unknown ones.
    """

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        try:
            # as parsed first: the order parser refuses anything but str, int, Decimal, lists,
            # objects and null, so a NumberLiteral anywhere makes this fail
            return rules.parse_order(value)
        except rules.OrderError:
            pass
        try:  # then again, those literals as text, for the reasons that name them
            return rules.parse_order(_plain(value))
        except rules.OrderError as error:
            raise ValidationError(
                {path or "_schema": [reason] for path, reason in error.errors.items()}
            ) from None


def _plain(value):
    """Exponent literals (and NaN, Infinity) become strings so the amount parser can name them."""
    if isinstance(value, NumberLiteral):
        return value.literal
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
