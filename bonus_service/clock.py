"""The service's one clock: aware UTC now (freezegun moves it at the HTTP and scheduler edges)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
