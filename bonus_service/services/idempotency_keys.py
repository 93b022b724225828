"""The stored answers of Idempotency-Keys, as data: the hourly job forgets the old ones.

(The keys are claimed and answered by the HTTP layer's `idempotency.idempotent`.)
"""

from __future__ import annotations

from sqlalchemy import delete

from bonus_service.models import IdempotencyRecord


def purge(session, older_than) -> int:
    """Forget keys older than the retention (at least 24 h).

    Every record is committed with its answer; one without could only be a claim left by a
    worker of the previous release that died during a rolling deploy: it goes too.
    """
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < older_than)
    )
    return result.rowcount
