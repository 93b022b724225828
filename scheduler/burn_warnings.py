"""The warning SMS a few days before an idle balance burns: one per guest per burn date.

A guest is warned when their burns_at (rules.burns_at, the date /v1/me shows) falls within the
next `days_before` days. `guests.warned_for` records the burns_at a warning went out for: it is
claimed (conditionally, in its own transaction) before the SMS is sent and put back if the send
fails, so a failure is retried by the next run and two runs never text the same guest twice.
A new order moves burns_at, so the guest is warned again only for the new date.

Every warning counts against the hourly SMS budget (BONUS_SMS_PER_HOUR,
services.sms_budget) and may take at most half of it, so that a day's warnings never leave
guests without login codes. When the budget (or that half) is spent the run stops: the guests
not yet warned are warned by the next run (the claim is taken only with the count), which
is a day later and still before their burn date for all but the last few days' burns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

import rules
import sms
from bonus_service.db import Database
from bonus_service.models import Guest
from bonus_service.services import sms_budget
from rules.money import money

DEFAULT_DAYS_BEFORE = 7  # for callers without settings; the service passes BONUS_BURN_WARNING_DAYS
BATCH_SIZE = 500
# Consecutive "provider unavailable" answers after which the run stops; the rest goes next run.
GIVE_UP_AFTER = 5

logger = logging.getLogger("scheduler.burn_warnings")


@dataclass(frozen=True)
class WarningReport:
    sent: int
    failed: int
    stopped_early: bool = False
    # stopped because the hour's SMS budget was spent; the rest go next run
    postponed: bool = False


class _BudgetSpent(Exception):
    def __init__(self, until: datetime):
        self.until = until


@dataclass(frozen=True)
class _Due:
    guest_id: int
    phone: str
    last_activity: datetime
    warned_for: datetime | None
    burns_at: datetime


def send_burn_warnings(
    db: Database,
    book: rules.ProgramBook,
    sender: sms.SmsSender,
    now: datetime,
    days_before: int = DEFAULT_DAYS_BEFORE,
    sms_per_hour: int | None = None,
) -> WarningReport:
    """Text every guest whose available balance burns within `days_before` days of `now`,
    within the hourly SMS budget `sms_per_hour` (None: counted, never stopped).

    The burn date counts a version published for later (`ProgramBook.burns_at`): one with
    fewer idle months burns balances from its start, and they are warned before it. The
    query's window spans every version in force in the days ahead; each guest it finds is
    then kept only if their own burn date falls within them."""
    until = now + timedelta(days=days_before)
    versions = book.between(now, until)
    window = (
        min(rules.idle_cutoff(v, now) for v in versions),
        max(rules.idle_cutoff(v, until) for v in versions),
    )
    sent = failed = unavailable_in_a_row = 0
    after = 0
    while batch := _due(db, book, now, window, after):
        after = batch[-1].guest_id
        for due in batch:
            if not now < due.burns_at <= until:  # in the window of another version only
                continue
            if due.warned_for == due.burns_at:  # warned for this very date already
                continue
            try:
                outcome = _warn(db, sender, due, now, sms_per_hour)
            except _BudgetSpent as spent:
                sms_budget.note_spent(sms_budget.BURN_WARNING, sms_per_hour, spent.until)
                logger.warning("SMS budget spent: burn warnings stop after %d sent; the rest "
                               "go next run", sent)  # fmt: skip
                return WarningReport(sent, failed, stopped_early=True, postponed=True)
            if outcome is None:
                continue
            sent, failed = sent + (outcome == "sent"), failed + (outcome != "sent")
            unavailable_in_a_row = unavailable_in_a_row + 1 if outcome == "unavailable" else 0
            if unavailable_in_a_row >= GIVE_UP_AFTER:
                logger.warning("SMS provider unavailable; burn warnings stop until next run")
                return WarningReport(sent, failed, stopped_early=True)
    return WarningReport(sent, failed)


def _due(db, book, now, window, after) -> list[_Due]:
    """The next batch of guests in the window with something to burn; the caller skips those
    already warned for their current burn date.

    Whether a warning is for the current date is decided on the date itself, not on whether
    it lies ahead: a cancelled last order or a shorter program can bring the date *forward*,
    and a guest warned for the later one was never warned again (an expiry audit).
    """
    query = (
        select(Guest.id, Guest.phone, Guest.last_activity, Guest.warned_for)
        .where(
            Guest.id > after,
            Guest.last_activity >= window[0],
            Guest.last_activity < window[1],
            Guest.balance > Guest.held,
        )
        .order_by(Guest.id)
        .limit(BATCH_SIZE)
    )
    with db.unit_of_work(write=False) as session:
        rows = session.execute(query).all()
    return [_Due(*row, book.burns_at(row[2], now)) for row in rows]


def _warn(db: Database, sender: sms.SmsSender, due: _Due, now, sms_per_hour) -> str | None:
    """Claim and count, send, and take both back on failure; None if someone else got there
    first. Raises _BudgetSpent when the hour's SMS budget leaves no room."""
    claimed = _claim(db, due, now, sms_per_hour)
    if claimed is None:
        return None
    kopecks, send_id = claimed
    try:
        sender.send(due.phone, sms.texts.burn_warning(money(kopecks), due.burns_at.date()))
    except Exception as error:
        if getattr(error, "maybe_sent", False):
            # the answer was lost, not the message: a retry would likely text twice, and one
            # lost warning is better than two (the claim and the count stay)
            logger.warning("burn warning to guest %s may not have gone (%s); not retried",
                           due.guest_id, error)  # fmt: skip
            return "unavailable"
        logger.warning("burn warning to guest %s not sent: %s", due.guest_id, error)
        _unclaim(db, due, send_id)  # not sent: retried next run
        return "unavailable" if isinstance(error, sms.SmsUnavailable) else "failed"
    return "sent"


def _claim(db: Database, due: _Due, now: datetime, sms_per_hour: int | None):
    """(available kopecks, send id) with the warning claimed and counted, or None."""
    with db.unit_of_work() as session:
        sms_budget.lock(session, sms_budget.BUDGET, now)
        if sms_per_hour is not None:
            until = sms_budget.full_until(session, sms_per_hour, now) or sms_budget.full_until(
                session, max(1, sms_per_hour // 2), now, sms_budget.BURN_WARNING
            )
            if until is not None:
                raise _BudgetSpent(until)
        kopecks = session.scalar(
            update(Guest)
            .where(
                Guest.id == due.guest_id,
                Guest.last_activity == due.last_activity,
                Guest.balance > Guest.held,
                Guest.warned_for.is_(None) | (Guest.warned_for != due.burns_at),
            )
            .values(warned_for=due.burns_at)
            .returning(Guest.balance - Guest.held)
        )
        if kopecks is None:
            return None
        send_id = sms_budget.record(
            session, due.phone, sms_budget.SCHEDULER, sms_budget.BURN_WARNING, now
        )
        session.commit()
    return kopecks, send_id


def _unclaim(db: Database, due: _Due, send_id: int) -> None:
    with db.unit_of_work() as session:
        session.execute(
            update(Guest)
            .where(Guest.id == due.guest_id, Guest.warned_for == due.burns_at)
            .values(warned_for=due.warned_for)
        )
        sms_budget.take_back(session, send_id)
        session.commit()
