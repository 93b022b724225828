"""Strict readers for program files: each returns a checked value or names the field and why."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.errors import ProgramError
from rules.money import amount_or_reason


def at(path: str, key: str | int) -> str:
    """The path of a key or an index inside `path`, e.g. accrual[1].percent."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def section(value: object, path: str, required: set[str], optional: set[str]) -> dict:
    """An object with exactly the known keys and every required one."""
    if not isinstance(value, dict):
        raise ProgramError(path or "program", "must be an object")
    for key in value:
        if key not in required and key not in optional:
            raise ProgramError(at(path, key), "unknown key")
    for key in sorted(required):
        if key not in value:
            raise ProgramError(at(path, key), "is missing")
    return value


def text(value: object, path: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ProgramError(path, "must be a non-empty string")
    return value


def choice(value: object, path: str, choices) -> str:
    """One of a few known words."""
    if value not in choices or not isinstance(value, str):
        raise ProgramError(path, f"must be one of: {', '.join(choices)} (got {value!r})")
    return value


def whole(value: object, path: str, low: int, high: int) -> int:
    """A whole number in low..high."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProgramError(path, "must be a whole number")
    if not low <= value <= high:
        raise ProgramError(path, f"must be between {low} and {high} (got {value})")
    return value


def percent(value: object, path: str) -> Decimal:
    """A percentage 0..100 written as "3" or 3, at most two places."""
    amount, reason = amount_or_reason(value)
    if reason or amount > 100:
        raise ProgramError(path, f"must be a percentage between 0 and 100 (got {value!r})")
    return amount


def quantum(value: object, path: str) -> Decimal:
    """A positive step bonuses are rounded to, e.g. "1" or "0.01"."""
    amount, reason = amount_or_reason(value)
    if reason or amount <= 0:
        raise ProgramError(path, f'must be a positive amount like "1" or "0.01" (got {value!r})')
    return amount


YEARS = (2000, 2999)


def moment(value: object, path: str) -> datetime:
    """An ISO date-time that says its time zone offset."""
    try:
        parsed = datetime.fromisoformat(text(value, path))
    except ValueError:
        raise ProgramError(path, f"is not an ISO date-time (got {value!r})") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ProgramError(path, "must include a time zone offset, e.g. 2024-01-01T00:00:00+03:00")
    if not YEARS[0] <= parsed.year <= YEARS[1]:  # datetime's ends overflow in the date sums
        raise ProgramError(path, f"must be in the years {YEARS[0]}..{YEARS[1]} (got {value!r})")
    return parsed


def local_moment(value: object, path: str) -> datetime:
    """An ISO date-time, read in the program's own zone when it names no offset."""
    try:
        parsed = datetime.fromisoformat(text(value, path))
    except ValueError:
        raise ProgramError(path, f"is not an ISO date-time, e.g. 2025-06-02T15:30 "
                                 f"(got {value!r})") from None
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise ProgramError(path, f"must be in the years {YEARS[0]}..{YEARS[1]} (got {value!r})")
    return parsed


def zone(value: object, path: str) -> ZoneInfo:
    """An IANA time zone name such as Europe/Moscow."""
    try:
        return ZoneInfo(text(value, path))
    except (ZoneInfoNotFoundError, ValueError):
        raise ProgramError(path, f"unknown time zone {value!r}") from None


def listing(value: object, path: str, *, empty: bool = False) -> list:
    """A list (non-empty unless `empty` is allowed)."""
    if not isinstance(value, list) or (not value and not empty):
        raise ProgramError(path, "must be a non-empty list" if not empty else "must be a list")
    return value
