"""Operations fixtures: the app's database, guests with a past made through the service layer,
and the CLI output of a `bonus` command."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bonus_service import ledger
from bonus_service.models import Guest
from bonus_service.services import guests

MOSCOW = ZoneInfo("Europe/Moscow")
PROGRAMS = Path(__file__).resolve().parent / "programs"
_phones = itertools.count(1)


def msk(*parts: int) -> datetime:
    """A Moscow wall-clock moment: msk(2025, 3, 10, 12) is 2025-03-10 12:00 MSK."""
    return datetime(*parts, tzinfo=MOSCOW)




@pytest.fixture
def make_guest(db) -> Callable[..., int]:
    """make_guest(registered_at, balance=kopecks, held=kopecks, last_order_at=None) → guest id."""

    def make(
        registered_at: datetime,
        *,
        balance: int = 0,
        held: int = 0,
        last_order_at: datetime | None = None,
    ) -> int:
        with db.unit_of_work() as session:
            guest = guests.register(session, f"+7914{next(_phones):07d}", registered_at, by="test")
            session.flush()
            for kind, amount in (("adjustment", balance), ("hold", held)):
                if amount:
                    ledger.move(session, guest.id, kind, amount, actor="test", reason="test",
                                now=registered_at)  # fmt: skip
            if last_order_at is not None:
                session.execute(
                    update(Guest).where(Guest.id == guest.id).values(last_order_at=last_order_at)
                )
            session.commit()
            return guest.id

    return make


@pytest.fixture
def bonus(runner) -> Callable[..., object]:
    """bonus("reconcile", "--limit", "5") → the click result of `flask bonus ...`."""

    def invoke(*args: str):
        return runner.invoke(args=["bonus", *args], catch_exceptions=False)

    return invoke
