"""Guests: finding one by phone, registering one, and the guest tokens that log them in."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import sms
from bonus_service.credentials import GUEST_TOKEN_PREFIX, digest
from bonus_service.errors import Conflict
from bonus_service.models import Guest, GuestToken
from bonus_service.services import audit


def find(session: Session, phone: str) -> Guest | None:
    return session.scalar(select(Guest).where(Guest.phone == phone))


def look_up(session: Session, phone: str, actor: str, now: datetime) -> Guest | None:
    """An operator's lookup of a guest by phone, in the caller's transaction; every lookup is
    audited, found or not (the call center reads guests' data)."""
    found = find(session, phone)
    audit.record(session, actor, "guest.lookup", phone, now, found=found is not None)
    return found


class AlreadyRegistered(Conflict):
    """The phone is registered already."""

    def __init__(self):
        super().__init__("This phone is already registered.",
                         errors={"phone": "already registered"})  # fmt: skip


def register(session: Session, phone: str, now: datetime, by: str | None) -> Guest:
    """Create the guest; a concurrent registration of the same phone raises AlreadyRegistered."""
    guest = Guest(phone=phone, registered_at=now, registered_by=by)  # at 0: the columns' default
    try:
        with session.begin_nested():
            session.add(guest)
    except IntegrityError:
        raise AlreadyRegistered() from None
    return guest


def find_or_register(session: Session, phone: str, now: datetime) -> Guest:
    """The first successful login registers the guest (or finds the one just registered)."""
    guest = find(session, phone)
    if guest is not None:
        return guest
    try:
        return register(session, phone, now, by=None)
    except AlreadyRegistered:
        return find(session, phone)


def issue_token(
    session: Session, guest: Guest, now: datetime, ttl: timedelta, *, code_purpose: str | None
) -> str:
    """A new token for the guest; `code_purpose` is that of the code it was bought with (a
    registration code's token opens /v1/me but is no consent to spend)."""
    token = GUEST_TOKEN_PREFIX + sms.new_token()
    session.add(
        GuestToken(
            token_hash=digest(token), guest_id=guest.id, created_at=now, expires_at=now + ttl,
            code_purpose=code_purpose,
        )
    )
    return token


def revoke_token(session: Session, token: str, now: datetime) -> None:
    session.execute(
        update(GuestToken)
        .where(GuestToken.token_hash == digest(token), GuestToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_every_token(session: Session, guest_id: int, now: datetime) -> int:
    """Log the guest out everywhere: every live token of theirs ends → how many did."""
    return session.execute(
        update(GuestToken)
        .where(GuestToken.guest_id == guest_id, GuestToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
