"""The audit trail of operator and admin actions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bonus_service.models import AuditEntry


def record(
    session: Session, actor: str, action: str, target: str | None, now: datetime, **details: object
) -> None:
    """Add an audit entry in the caller's transaction, so it commits with the action itself."""
    session.add(AuditEntry(at=now, actor=actor, action=action, target=target, details=details))
