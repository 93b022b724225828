"""What a guest or an operator reads of an account: balance, burn date, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from bonus_service.dbutil import MAX_BIGINT_ID, older_than
from bonus_service.models import Guest, LedgerEntry

RECENT = 20  # history entries shown with a guest to an operator (API and console alike)


@dataclass(frozen=True)
class Account:
    phone: str
    balance: int
    available: int
    registered_at: datetime
    last_order_at: datetime | None
    burns_at: datetime | None


def burn_date(guest: Guest, book: rules.ProgramBook, now: datetime) -> datetime | None:
    """When the balance burns if nothing changes (a version published for later counts from
    its start); None when there is nothing to burn."""
    if guest.balance - guest.held <= 0:
        return None
    return book.burns_at(guest.last_activity, now)


def account(guest: Guest, book: rules.ProgramBook, now: datetime) -> Account:
    return Account(
        guest.phone,
        guest.balance,
        guest.balance - guest.held,
        guest.registered_at,
        guest.last_order_at,
        burn_date(guest, book, now),
    )


def history(
    session: Session, guest_id: int, limit: int, before: int | None = None
) -> tuple[list[LedgerEntry], int | None]:
    """Ledger entries newest first, a page at a time (keyset: stable while entries arrive)."""
    query = select(LedgerEntry).where(LedgerEntry.guest_id == guest_id)
    if (older := older_than(LedgerEntry.id, before, MAX_BIGINT_ID)) is not None:
        query = query.where(older)
    entries = list(session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit + 1)))
    more = len(entries) > limit
    entries = entries[:limit]
    return entries, (entries[-1].id if more else None)
