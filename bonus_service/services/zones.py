"""Delivery zones: their minimum order, set by an admin, read by quotes and the rules text."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from bonus_service.errors import invalid
from bonus_service.models import Zone
from bonus_service.services import audit
from rules.money import kopecks

CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def put_zone(
    session: Session, code: str, name: str, min_order: Decimal, actor: str, now: datetime
) -> Zone:
    """Create or change a zone in the caller's transaction; the audit keeps before and after."""
    if not code or len(code) > 40 or not set(code) <= CODE_CHARS:
        raise invalid("code", "1-40 characters of a-z, 0-9, '-' and '_'")
    zone = session.get(Zone, code) or Zone(code=code)
    before = None if zone.name is None else {"name": zone.name, "min_order": zone.min_order}
    zone.name, zone.min_order, zone.updated_at = name, kopecks(min_order), now
    session.add(zone)
    audit.record(session, actor, "zone.put", code, now, before=before,
                 after={"name": zone.name, "min_order": zone.min_order})  # fmt: skip
    session.flush()
    return zone
