"""Manual corrections by an operator: signed, with a reason, audited."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bonus_service import ledger
from bonus_service.fields import kopecks, money
from bonus_service.models import Guest, LedgerEntry
from bonus_service.problems import Problem, invalid
from bonus_service.services import audit, guests
from bonus_service.services.reasons import adjustment


def _refuse_over_a_difference(session: Session, guest_id: int) -> None:
    """An adjustment moves the balance and the ledger alike, so over a balance that disagrees
    with its ledger (found by `bonus reconcile`) it cannot mend anything: it writes a wrong
    `balance_after` into the append-only ledger, which reconcile then reports for good. The
    guest's row is locked first, so no movement can commit between the two reads."""
    balance = session.scalar(select(Guest.balance).where(Guest.id == guest_id).with_for_update())
    ledger_sum = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.guest_id == guest_id
        )
    )
    if int(ledger_sum) != balance:
        raise Problem(
            409,
            f"This guest's balance ({money(balance)}) disagrees with the ledger "
            f"({money(int(ledger_sum))}): set the guests row to the ledger first "
            "(docs/operations.md, reconcile); an adjustment here would not mend it.",
        )


def adjust(
    session: Session, phone: str, amount: Decimal, why: str, actor: str, now: datetime,
    *, step: Decimal,
) -> ledger.Movement:
    """Credit or debit a guest's balance by hand; a debit never takes held or absent bonuses.

    `step` is the program's rounding quantum (whole bonuses under the published rules).
    """
    if amount == 0:
        raise invalid("amount", "must not be zero")
    if not why.strip():
        raise invalid("reason", "must say why, not be blank")
    guest = guests.find(session, phone)
    if guest is None:
        raise Problem(404, "No guest is registered with this phone.", title="Not Found")
    # a balance of 25.50 leaves half a bonus nothing can ever spend; an amount that brings a
    # balance of before the rule back to whole steps is what mends it
    if amount % step and (money(guest.balance) + amount) % step:
        raise invalid("amount", f"must be a multiple of {step} bonuses: the rules in force "
                      "spend bonuses in such steps", step=money(kopecks(step)))  # fmt: skip
    _refuse_over_a_difference(session, guest.id)
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
