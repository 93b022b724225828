"""The ledger: every bonus movement is one conditional write to the balance plus one entry.

A guest row keeps `balance` (what the guest owns) and `held` (what open orders hold). Each
movement changes them with a single UPDATE whose WHERE clause is the invariant itself
(held ≥ 0, balance ≥ held), so two concurrent movements can never overdraw: the loser's UPDATE
matches no row. The same statement works on SQLite and PostgreSQL, and the CHECK constraints
stand behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from bonus_service.models import Guest, LedgerEntry

# kind → (sign of the balance change, sign of the held change) for a positive amount
KINDS = {
    "accrual": (1, 0),
    "hold": (0, 1),
    "spend": (-1, -1),
    "release": (0, -1),
    "refund": (1, 0),
    "reversal": (-1, 0),
    "adjustment": (1, 0),  # signed by its amount
    "expiry": (-1, 0),
}



def _conditional_update(*, touch_last_order: bool):
    """The movement's UPDATE, built once: the invariant is the WHERE clause."""
    delta, held_delta = bindparam("delta"), bindparam("held_delta")
    values = {"balance": Guest.balance + delta, "held": Guest.held + held_delta}
    if touch_last_order:
        values["last_order_at"] = bindparam("last_order_at", type_=Guest.last_order_at.type)
    return (
        update(Guest)
        .where(
            Guest.id == bindparam("guest_id"),
            Guest.held + held_delta >= 0,
            Guest.balance + delta >= Guest.held + held_delta,
        )
        .values(**values)
        .returning(Guest.balance, Guest.held)
        # callers read the figures from RETURNING; matching loaded Guest objects in Python
        # would cost more than the statement (re-read with populate_existing where needed)
        .execution_options(synchronize_session=False)
    )


# Prebuilt: building the expression on every movement cost more CPU than running it.
_MOVE = _conditional_update(touch_last_order=False)
_MOVE_AND_TOUCH = _conditional_update(touch_last_order=True)
# The entry is written with a plain INSERT rather than an ORM flush (a third of a write's CPU).
_ENTRY = insert(LedgerEntry).returning(LedgerEntry.id)


@dataclass(frozen=True)
class Movement:
    """What one ledger write did: the entry and the guest's figures after it."""

    entry: LedgerEntry
    balance: int
    held: int

    @property
    def available(self) -> int:
        return self.balance - self.held


def move(
    session: Session,
    guest_id: int,
    kind: str,
    amount: int,
    *,
    actor: str,
    reason: str,
    now: datetime,
    order_id: str | None = None,
    rules_version: str | None = None,
    last_order_at: datetime | None = None,
) -> Movement | None:
    """Apply one movement of `amount` kopecks; None (and nothing written) if it would overdraw.

    `last_order_at` also records a completed order in the same statement (saves a round trip).
    """
    balance_sign, held_sign = KINDS[kind]
    delta, held_delta = balance_sign * amount, held_sign * abs(amount)
    if kind == "adjustment":
        delta = amount
    params = {"guest_id": guest_id, "delta": delta, "held_delta": held_delta}
    if last_order_at is not None:
        params["last_order_at"] = last_order_at
    statement = _MOVE if last_order_at is None else _MOVE_AND_TOUCH
    row = session.execute(statement, params).first()
    if row is None:
        return None
    values = {
        "guest_id": guest_id,
        "kind": kind,
        "amount": delta,
        "held_delta": held_delta,
        "balance_after": row.balance,
        "order_id": order_id,
        "rules_version": rules_version,
        "actor": actor,
        "reason": reason,
        "created_at": now,
    }
    entry_id = session.execute(_ENTRY, values).scalar_one()
    # a detached copy for the caller to show; the row itself is never changed again
    return Movement(LedgerEntry(id=entry_id, **values), row.balance, row.held)
