"""Guests made through the service layer: registration, then ledger movements, so every
figure a test starts from is one the ledger explains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from bonus_service import ledger
from bonus_service.clock import utcnow
from bonus_service.credentials import create_client
from bonus_service.db import Database
from bonus_service.models import Guest
from bonus_service.services import guests
from tests.support.phones import new_phone


def make_guest(
    db: Database,
    registered_at: datetime,
    *,
    balance: int = 0,
    held: int = 0,
    last_order_at: datetime | None = None,
    phone: str | None = None,
    by: str = "test",
) -> Guest:
    """A registered guest with `balance` kopecks credited and `held` of them held (both at
    `registered_at`), and `last_order_at` as the last completed order; → the stored guest."""
    with db.unit_of_work() as session:
        guest = guests.register(session, phone or new_phone(), registered_at, by=by)
        session.flush()
        for kind, amount in (("adjustment", balance), ("hold", held)):
            if amount:
                ledger.move(session, guest.id, kind, amount, actor=by, reason=f"test {kind}",
                            now=registered_at)  # fmt: skip
        if last_order_at is not None:
            session.execute(
                update(Guest).where(Guest.id == guest.id).values(last_order_at=last_order_at)
            )
        session.commit()
        guest_id = guest.id
    return fetch(db, guest_id)


def fetch(db: Database, guest_id: int) -> Guest:
    """The guest as stored now."""
    with db.unit_of_work(write=False) as session:
        return session.get(Guest, guest_id)


@dataclass
class Seeded:
    """What a served database was given before a test: a key with every scope, and guests."""

    key: str
    phones: list[str]
    tokens: dict[str, str]


def seed(db: Database, guest_count: int = 4, kopecks: int = 100_000) -> Seeded:
    """A key holding every scope and `guest_count` guests with `kopecks` each and a live token."""
    now, tokens = utcnow(), {}
    with db.unit_of_work() as session:
        key = create_client(session, "faults", ["checkout", "operator", "admin"], now)
        session.commit()
    phones = [make_guest(db, now, balance=kopecks, by="faults").phone for _ in range(guest_count)]
    with db.unit_of_work() as session:
        for phone in phones:
            tokens[phone] = guests.issue_token(session, guests.find(session, phone), now,
                                               timedelta(days=1), code_purpose="login")  # fmt: skip
        session.commit()
    return Seeded(key, phones, tokens)
