"""Money as Decimal roubles with two places: parsing client amounts, rounding bonuses."""

import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

from rules.errors import AmountError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
LIMIT = Decimal("10000000.00")  # far above any restaurant bill; larger is a client bug
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?", re.ASCII)
_HINT = 'a string like "349.90" or a number'
ROUNDING_MODES = {"down": ROUND_DOWN, "up": ROUND_UP,
                  "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


def money(kopecks: int) -> Decimal:
    """Stored kopecks → roubles with two places."""
    return (Decimal(kopecks) * CENT).quantize(CENT)


def kopecks(amount: Decimal) -> int:
    """Roubles (at most two places, checked on the way in) → stored kopecks."""
    return int((amount / CENT).to_integral_exact())


def parse_amount(value: object, field: str) -> Decimal:
    """Roubles from a client (str, int or Decimal) as a Decimal with two places, or AmountError."""
    amount, reason = amount_or_reason(value)
    if reason:
        raise AmountError(field, reason)
    return amount


def amount_or_reason(value: object) -> tuple[Decimal, str]:
    """The amount and "" when it is good, or ZERO and why it is refused."""
    if type(value) is str:  # the usual case, first: "349.90"
        return _from_text(value)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        kind = "a float" if isinstance(value, float) else type(value).__name__
        return ZERO, f"must be {_HINT}, not {kind}"
    if isinstance(value, str):
        return _from_text(value)
    return _checked(Decimal(value))


def _from_text(text: str) -> tuple[Decimal, str]:
    if not text:
        return ZERO, "must not be empty"
    if len(text) < 40 and _AMOUNT.fullmatch(text):
        # digits with at most two decimals: finite, not negative, no exponent; only the limit
        amount = Decimal(text)
        if amount > LIMIT:
            return ZERO, f"must not exceed {LIMIT}"
        return amount.quantize(CENT), ""
    lowered = text.lower()
    if lowered.lstrip("+-") in ("nan", "snan", "inf", "infinity"):
        return ZERO, "must be a finite number"
    if "e" in lowered and any(c.isdigit() for c in lowered):
        return ZERO, "must not use exponent notation"
    if text.startswith("-"):
        return ZERO, "must not be negative"
    if re.fullmatch(r"[0-9]+\.[0-9]{3,}", text, re.ASCII):
        return ZERO, "must have at most 2 decimal places"
    return ZERO, f"is not an amount: expected {_HINT}"


def _checked(amount: Decimal) -> tuple[Decimal, str]:
    if not amount.is_finite():
        return ZERO, "must be a finite number"
    exponent = amount.as_tuple().exponent
    if exponent > 0:
        return ZERO, "must not use exponent notation"
    if exponent < -2:
        return ZERO, "must have at most 2 decimal places"
    if amount < 0:
        return ZERO, "must not be negative"
    if amount > LIMIT:
        return ZERO, f"must not exceed {LIMIT}"
    return (amount + ZERO).quantize(CENT), ""  # + ZERO turns -0 into 0


def rounder(quantum: Decimal, mode: str):
    """A function rounding a non-negative amount to a multiple of `quantum`, kept at two places."""
    rounding = ROUNDING_MODES[mode]

    def to_quantum(amount: Decimal) -> Decimal:
        return ((amount / quantum).to_integral_value(rounding) * quantum).quantize(CENT)

    return to_quantum
