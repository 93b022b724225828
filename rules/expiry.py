"""When an idle balance burns, and the cutoff the nightly job selects by; one arithmetic for both.

A balance burns at the local midnight that ends its anniversary day: the local date of the
last activity plus `idle_months` calendar months. Working in whole local days (not in the hour
of the last order) keeps burns_at monotone across clamped month ends and DST fall-backs, which
is what lets one cutoff agree exactly with burns_at (see docs/rules.md).
"""

import calendar
from datetime import date, datetime, time, timedelta

from rules.program import Program

ONE_DAY = timedelta(days=1)


def burns_at(program: Program, last_activity: datetime) -> datetime:
    """The instant (in the program's zone) a balance idle since `last_activity` burns."""
    day = _local_date(last_activity, program)
    return _start_of(anniversary(day, program.idle_months, program.month_end) + ONE_DAY, program)


def last_day_to_order(burns: date | datetime) -> date:
    """A balance burns at the midnight that ends its anniversary day, so an order that day
    still keeps it: the last day to order is the day before the burn's (local) date."""
    day = burns.date() if isinstance(burns, datetime) else burns
    return day - ONE_DAY


def idle_cutoff(program: Program, now: datetime) -> datetime:
    """Balances with last_activity < this instant have burned by `now` (and no others)."""
    latest = _local_date(now, program) - ONE_DAY  # the latest anniversary already over
    day = _last_day_burned_by(latest, program.idle_months, program.month_end)
    return _start_of(day + ONE_DAY, program)


def anniversary(day: date, months: int, month_end: str) -> date:
    """`day` plus calendar months; a missing day clamps to the month's last or rolls to the 1st."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last = calendar.monthrange(year, month)[1]
    if day.day <= last:
        return date(year, month, day.day)
    return date(year, month, last) + (ONE_DAY if month_end == "roll" else timedelta(0))


def _last_day_burned_by(latest: date, months: int, month_end: str) -> date:
    """The last activity day whose anniversary is on or before `latest`."""
    year, month = divmod(latest.month - 1 - months, 12)
    year, month = latest.year + year, month + 1
    day = date(year, month, min(latest.day, calendar.monthrange(year, month)[1]))
    # anniversary() is monotone, so a step or two settles the clamped and rolled month ends
    while anniversary(day + ONE_DAY, months, month_end) <= latest:
        day += ONE_DAY
    while anniversary(day, months, month_end) > latest:
        day -= ONE_DAY
    return day


def _local_date(moment: datetime, program: Program) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("expiry needs an aware datetime")
    return moment.astimezone(program.timezone).date()


def _start_of(day: date, program: Program) -> datetime:
    return datetime.combine(day, time(0), tzinfo=program.timezone)
