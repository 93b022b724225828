"""Forgetting what nothing needs any more: answered Idempotency-Keys past their retention,
console login failure counts that have gone quiet, the record of SMS sent (phones and addresses)
past its retention, and adjustments left pending past 72 h."""

from __future__ import annotations

from datetime import datetime, timedelta

from bonus_service.db import Database
from bonus_service.services.adjustments import lapse_overdue
from bonus_service.services.idempotency_keys import purge
from bonus_service.services.logins import DAY as SMS_LIMITS_WINDOW
from bonus_service.services.operators import forget_throttles
from bonus_service.services.sms_budget import forget_sends


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


def forget_sms_sends(db: Database, now: datetime, *, keep: timedelta) -> int:
    """Delete the record of SMS sent before `now - keep`. keep ≥ the longest window an SMS limit
    reads back (the per-phone day): a shorter one would forget codes the limits still count."""
    if keep < SMS_LIMITS_WINDOW:
        raise ValueError("the record of SMS sent must live at least 1 day")
    with db.unit_of_work() as session:
        deleted = forget_sends(session, now - keep)
        session.commit()
    return deleted


def lapse_adjustments(db: Database, now: datetime) -> int:
    """Mark adjustments pending past their 72 h as lapsed, each audited. They are refused and
    shown as lapsed from their hour on anyway; the mark puts the lapse in the audit log."""
    with db.unit_of_work() as session:
        lapsed = lapse_overdue(session, now)
        session.commit()
    return lapsed
