"""Forgetting what nothing needs any more: answered Idempotency-Keys past their retention,
console login failure counts that have gone quiet, and adjustments left pending past 72 h."""

from __future__ import annotations

from datetime import datetime, timedelta

from bonus_service.db import Database
from bonus_service.services.adjustments import lapse_overdue
from bonus_service.services.idempotency_keys import purge
from bonus_service.services.operators import forget_throttles


def purge_idempotency_keys(db: Database, now: datetime, *, keep: timedelta) -> int:
    """Delete answered keys created before `now - keep` (keep ≥ 24 h: the contract's floor)."""
    if keep < timedelta(hours=24):
        raise ValueError("Idempotency-Keys must live at least 24 hours")
    with db.unit_of_work() as session:
        deleted = purge(session, now - keep)
        session.commit()
    return deleted


def forget_login_failures(db: Database, now: datetime) -> int:
    """Delete console login failure counts with no failure for a day and no lock running."""
    with db.unit_of_work() as session:
        deleted = forget_throttles(session, now)
        session.commit()
    return deleted


def lapse_adjustments(db: Database, now: datetime) -> int:
    """Mark adjustments pending past their 72 h as lapsed, each audited. They are refused and
    shown as lapsed from their hour on anyway; the mark puts the lapse in the audit log."""
    with db.unit_of_work() as session:
        lapsed = lapse_overdue(session, now)
        session.commit()
    return lapsed
