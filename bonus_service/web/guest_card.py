"""What the console shows of a guest, and the check that keeps its forms from acting twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bonus_service import program
from bonus_service.models import Guest, LedgerEntry, Order
from bonus_service.services import accounts


@dataclass(frozen=True)
class GuestCard:
    guest: Guest
    account: accounts.Account
    last_order: Order | None
    entries: list[LedgerEntry]
    next_before: int | None
    seen: int  # the newest ledger entry the operator is looking at


def card(session: Session, guest: Guest, now: datetime, before: int | None = None) -> GuestCard:
    """Balance, burn date, last order and a page of history, as the operator sees them."""
    entries, next_before = accounts.history(session, guest.id, accounts.RECENT, before)
    return GuestCard(
        guest,
        accounts.account(guest, program.book(), now),
        session.scalar(
            select(Order)
            .where(Order.guest_id == guest.id)
            .order_by(Order.placed_at.desc())
            .limit(1)
        ),
        entries,
        next_before,
        newest_entry(session, guest.id),
    )


def newest_entry(session: Session, guest_id: int) -> int:
    return session.scalar(
        select(func.coalesce(func.max(LedgerEntry.id), 0)).where(LedgerEntry.guest_id == guest_id)
    )


def unchanged_since(session: Session, phone: str, seen: int) -> bool:
    """Whether the account still ends at the entry the form was filled against.

    The guest's row is locked first, so two submits of one form (a double click, a retry)
    cannot both pass: the first one's entry makes the second one stale.
    """
    guest_id = session.scalar(select(Guest.id).where(Guest.phone == phone).with_for_update())
    return guest_id is not None and newest_entry(session, guest_id) == seen
