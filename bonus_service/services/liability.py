"""Liability: the bonuses the restaurant owes now, and what burns month by month if nothing changes.

A balance burns at rules.burns_at(its last activity), and burns_at(t) <= moment exactly when
t < rules.idle_cutoff(moment). So the balances burning in a month are those whose last activity
lies between two cutoffs, and the whole schedule is one GROUP BY over the guests with a CASE of
cutoffs computed here, never a loop over guests. Only the available part burns (the nightly job
leaves bonuses held by open orders alone), and the program is the one in force at `as_of`: a
later version with another idle period is not anticipated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

import rules
from bonus_service.models import Guest
from rules.money import money

NOTHING_AVAILABLE = -1  # a guest whose whole balance is held by open orders burns nothing


@dataclass(frozen=True)
class Burn:
    """Available bonuses burning in one period: `due` (already past its date), a month, `later`."""

    period: str
    starts_at: datetime | None
    ends_at: datetime | None
    cutoff: datetime | None  # last activity before this instant burns by the period's end
    guests: int = 0
    kopecks: int = 0

    def line(self) -> str:
        return f"  {self.period:<26} {self.guests:>8} guests {money(self.kopecks):>14}"


@dataclass(frozen=True)
class Liability:
    """The bonuses owed at `as_of` and the burn schedule of the available part."""

    as_of: datetime
    rules_version: str
    timezone: str
    guests: int
    balance: int
    held: int
    due: Burn
    months: tuple[Burn, ...]
    later: Burn

    @property
    def available(self) -> int:
        return self.balance - self.held

    def lines(self) -> list[str]:
        return [
            f"as of {self.as_of.isoformat()}, rules {self.rules_version}, "
            f"months in {self.timezone}",
            f"outstanding: {money(self.balance)} bonuses of {self.guests} guests "
            f"({money(self.held)} held by open orders, {money(self.available)} available)",
            "burns if no guest orders again:",
            *(b.line() for b in (self.due, *self.months, self.later)),
        ]


def liability(
    session: Session, program: rules.Program, as_of: datetime, months: int = 12
) -> Liability:
    """Outstanding bonuses and the next `months` calendar months of burns (program's zone)."""
    due, *month_burns, later = _periods(program, as_of, months)
    cutoffs = [due.cutoff, *(b.cutoff for b in month_burns)]
    rows = {row.period: row for row in session.execute(_by_period(cutoffs))}
    filled = [_fill(b, rows.get(i)) for i, b in enumerate((due, *month_burns, later))]
    return Liability(
        as_of=as_of,
        rules_version=program.version,
        timezone=program.timezone.key,
        guests=sum(row.guests for row in rows.values()),
        balance=sum(int(row.balance) for row in rows.values()),
        held=sum(int(row.held) for row in rows.values()),
        due=filled[0],
        months=tuple(filled[1:-1]),
        later=filled[-1],
    )


def _periods(program: rules.Program, as_of: datetime, months: int) -> list[Burn]:
    """`due`, then each month from as_of's own, then `later`, each with its closing cutoff."""
    starts = month_starts(as_of, months, program.timezone)
    burns = [Burn("due", None, as_of, rules.idle_cutoff(program, as_of))]
    for start, end in pairwise(starts):
        # burns_at is a local midnight, so "before `end`" is "at or before a second earlier"
        cutoff = rules.idle_cutoff(program, end - timedelta(seconds=1))
        burns.append(Burn(f"{start:%Y-%m}", start, end, cutoff))
    burns.append(Burn("later", starts[-1], None, None))
    return burns


def month_starts(as_of: datetime, months: int, zone: ZoneInfo) -> list[datetime]:
    """The local midnights opening as_of's month and the `months` months after it."""
    local = as_of.astimezone(zone)
    starts = []
    for i in range(months + 1):
        year, month = divmod(local.month - 1 + i, 12)
        starts.append(datetime(local.year + year, month + 1, 1, tzinfo=zone))
    return starts


def _by_period(cutoffs: list[datetime]):
    """Guests holding bonuses, counted per burn period: index i for the i-th cutoff, or after."""
    period = case(
        (Guest.balance <= Guest.held, NOTHING_AVAILABLE),
        *((Guest.last_activity < cutoff, i) for i, cutoff in enumerate(cutoffs)),
        else_=len(cutoffs),
    )
    guests = select(period.label("period"), Guest.balance, Guest.held).where(Guest.balance > 0)
    guests = guests.subquery()
    return select(
        guests.c.period,
        func.count().label("guests"),
        func.sum(guests.c.balance).label("balance"),
        func.sum(guests.c.held).label("held"),
    ).group_by(guests.c.period)


def _fill(burn: Burn, row) -> Burn:
    if row is None:
        return burn
    return replace(burn, guests=row.guests, kopecks=int(row.balance) - int(row.held))
