"""What the console shows of a guest, and the check that keeps its forms from acting twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bonus_service import program
from bonus_service.models import Adjustment, Guest, LedgerEntry, Order
from bonus_service.services import accounts


@dataclass(frozen=True)
class GuestCard:
    guest: Guest
    account: accounts.Account
    last_order: Order | None
    entries: list[LedgerEntry]
    next_before: int | None
    seen: int  # the state of the account the operator is looking at (`account_mark`)
    pending: list[Adjustment]  # credits waiting for review


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
        account_mark(session, guest.id),
        list(session.scalars(
            select(Adjustment)
            .where(Adjustment.guest_id == guest.id, Adjustment.status == "pending",
                   Adjustment.lapses_at > now)
            .order_by(Adjustment.id)
        )),
    )  # fmt: skip


def account_mark(session: Session, guest_id: int) -> int:
    """The newest ledger entry's id plus the newest adjustment's: both ids only grow, so the
    sum changes whenever either does — a credit held for review writes no entry, and a form
    sent twice must not ask for it twice."""
    entry = select(func.coalesce(func.max(LedgerEntry.id), 0)).where(
        LedgerEntry.guest_id == guest_id
    )
    asked = select(func.coalesce(func.max(Adjustment.id), 0)).where(
        Adjustment.guest_id == guest_id
    )
    return session.scalar(entry) + session.scalar(asked)


def unchanged_since(session: Session, phone: str, seen: int) -> bool:
    """Whether the account still ends at the entry the form was filled against.

    The guest's row is locked first, so two submits of one form (a double click, a retry)
    cannot both pass: the first one's entry makes the second one stale.
    """
    guest_id = session.scalar(select(Guest.id).where(Guest.phone == phone).with_for_update())
    return guest_id is not None and account_mark(session, guest_id) == seen
