"""Manual corrections by an operator: signed, with a reason, audited."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from bonus_service import ledger
from bonus_service.fields import kopecks, money
from bonus_service.problems import Problem, invalid
from bonus_service.services import audit, guests
from bonus_service.services.reasons import adjustment


def adjust(
    session: Session, phone: str, amount: Decimal, why: str, actor: str, now: datetime
) -> ledger.Movement:
    """Credit or debit a guest's balance by hand; a debit never takes held or absent bonuses."""
    if amount == 0:
        raise invalid("amount", "must not be zero")
    guest = guests.find(session, phone)
    if guest is None:
        raise Problem(404, "No guest is registered with this phone.", title="Not Found")
    moved = ledger.move(
        session,
        guest.id,
        "adjustment",
        kopecks(amount),
        actor=actor,
        now=now,
        reason=adjustment(amount, why),
    )
    if moved is None:
        raise invalid(
            "amount", f"the guest has only {money(guest.balance - guest.held)} available to debit"
        )
    audit.record(
        session,
        actor,
        "guest.adjust",
        phone,
        now,
        amount=f"{amount:.2f}",
        reason=why,
        entry_id=moved.entry_id,
    )
    return moved
