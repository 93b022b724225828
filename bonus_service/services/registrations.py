"""Registering a guest on the guest's behalf: the SMS with a login code, then the account.

The SMS goes first, before the registration is written, so that no transaction is open while
Twilio answers (up to TWILIO_TIMEOUT_SECONDS): on SQLite an open writing transaction holds the
database's only write lock, and every login, order and adjustment waited behind a slow SMS;
on PostgreSQL it held a pooled connection. Before it goes, the send is counted in a short
transaction of its own, under the phone's lock and the limits, so parallel registrations of
one phone text one SMS (the others: 429, "a code was sent a moment ago", or 409): eight of
them, each with its own Idempotency-Key, used to text eight different codes of which one
worked. If the SMS fails its count is taken back and nothing is written (503, or 422 for a
number the provider refuses); if the SMS went but the writing fails (the phone was registered
a moment before by someone else: 409), the guest holds a code that opens nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

import sms
from bonus_service.db import Database
from bonus_service.models import Guest
from bonus_service.services import audit, guests, logins
from bonus_service.settings import Settings

PURPOSE = "registration"


def text_code(
    db: Database,
    settings: Settings,
    sender: sms.SmsSender,
    phone: str,
    code: str,
    now: datetime,
) -> None:
    """Refuse a registered phone (409), one over its SMS limits (429) or an SMS budget spent
    (503); else count the send and text `code`. `register_on_behalf` stores the code."""
    with db.unit_of_work() as session:
        logins.lock_subjects(session, phone, None, now)
        if guests.find(session, phone) is not None:
            raise guests.AlreadyRegistered()
        send_id = logins.reserve_send(session, settings, phone, None, PURPOSE, now)
        session.commit()
    text = sms.texts.registered_by_operator(code, settings.code_minutes)
    logins.send_counted(db, sender, phone, text, send_id)


def register_on_behalf(
    session: Session,
    settings: Settings,
    secret: bytes,
    phone: str,
    code: str,
    actor: str,
    now: datetime,
) -> Guest:
    """Register the phone with the login code `text_code` sent (and counted), in the caller's
    transaction."""
    guest = guests.register(session, phone, now, by=actor)
    logins.store_code(session, settings, secret, phone, code, PURPOSE, now)
    audit.record(session, actor, "guest.register", phone, now)
    return guest
