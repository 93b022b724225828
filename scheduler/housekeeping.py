"""Forgetting what no retry can need any more: answered Idempotency-Keys past their retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from bonus_service.db import Database
from bonus_service.idempotency import purge


def purge_idempotency_keys(db: Database, now: datetime, *, keep: timedelta) -> int:
    """Delete answered keys created before `now - keep` (keep ≥ 24 h: the contract's floor)."""
    if keep < timedelta(hours=24):
        raise ValueError("Idempotency-Keys must live at least 24 hours")
    with db.unit_of_work() as session:
        deleted = purge(session, now - keep)
        session.commit()
    return deleted
