"""Moments on the restaurant's wall clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")


def msk(*parts: int) -> datetime:
    """A Moscow wall-clock moment: msk(2025, 3, 10, 12) is 2025-03-10 12:00 MSK."""
    return datetime(*parts, tzinfo=MOSCOW)
