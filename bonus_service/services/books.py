"""The books month by month: bonuses accrued, spent, burned and outstanding, from the ledger.

Calendar months in the service's zone (BONUS_TIMEZONE): a month's boundaries are its local
midnights, so an accrual at 00:30 Moscow time on the 1st belongs to that month, not the one
before as its UTC date would have it. Like the liability report, it is one GROUP BY over the
ledger with a CASE of month boundaries computed here, never a loop over entries. Figures are
kopecks; every movement lands in exactly one column, so each month closes as
opening + accrued − spent − burned + other = closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bonus_service.models import LedgerEntry
from bonus_service.services.liability import month_starts

# ledger kind → the books' column; a hold or a release moves no balance (amount 0)
COLUMNS = {"accrual": "accrued", "spend": "spent", "refund": "spent", "expiry": "burned",
           "adjustment": "other", "reversal": "other"}  # fmt: skip
BEFORE = -1


@dataclass(frozen=True)
class Month:
    """One calendar month's movements (kopecks; spent and burned as positive amounts)."""

    starts_at: datetime
    opening: int
    accrued: int = 0
    spent: int = 0  # spent net of the refunds of cancelled orders
    burned: int = 0
    other: int = 0  # console adjustments and reversals of cancelled orders' accruals

    @property
    def closing(self) -> int:
        return self.opening + self.accrued - self.spent - self.burned + self.other

    @property
    def label(self) -> str:
        return f"{self.starts_at:%Y-%m}"


def monthly(session: Session, now: datetime, zone: ZoneInfo, months: int = 12) -> list[Month]:
    """The last `months` calendar months up to and including now's, oldest first."""
    local = now.astimezone(zone)
    year, month = divmod(local.month - 1 - (months - 1), 12)
    first = datetime(local.year + year, month + 1, 1, tzinfo=zone)
    starts = month_starts(first, months, zone)  # months + 1 boundaries
    period = case(
        (LedgerEntry.created_at < starts[0], BEFORE),
        *((LedgerEntry.created_at < end, i) for i, end in enumerate(starts[1:])),
        else_=months,
    )
    # grouped over a subquery: PostgreSQL binds the CASE's boundaries as parameters, and the
    # same CASE written twice (SELECT and GROUP BY) would not be seen as the same expression
    entries = select(period.label("period"), LedgerEntry.kind, LedgerEntry.amount).subquery()
    query = select(entries.c.period, entries.c.kind, func.sum(entries.c.amount).label("amount"))
    sums: dict[tuple[int, str], int] = {}
    for row in session.execute(query.group_by(entries.c.period, entries.c.kind)):
        sums[row.period, row.kind] = int(row.amount or 0)
    opening = sum(amount for (i, _), amount in sums.items() if i == BEFORE)
    found = []
    for i, start in enumerate(starts[:-1]):
        column = {"accrued": 0, "spent": 0, "burned": 0, "other": 0}
        for kind, name in COLUMNS.items():
            amount = sums.get((i, kind), 0)
            column[name] += -amount if name in ("spent", "burned") else amount
        found.append(Month(start, opening, **column))
        opening = found[-1].closing
    return found
