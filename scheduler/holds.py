"""The hold timer: release the bonuses held by orders left open past their hold time."""

from __future__ import annotations

from datetime import datetime

from bonus_service.db import Database
from bonus_service.services.checkout import release_stale_holds

DEFAULT_BATCH_SIZE = 500


def release_holds(db: Database, now: datetime, *, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Release every stale hold as of `now`, a batch per transaction; how many orders."""
    released = 0
    while True:
        with db.unit_of_work() as session:
            count = release_stale_holds(session, now, limit=batch_size)
            session.commit()
        released += count
        if count < batch_size:
            return released
