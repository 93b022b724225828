"""Registering a guest on the guest's behalf: the SMS with a login code, then the account.

The SMS goes first, before anything is written, so that no transaction is open while Twilio
answers (up to TWILIO_TIMEOUT_SECONDS): on SQLite an open writing transaction holds the
database's only write lock, and every login, order and adjustment waited behind a slow SMS;
on PostgreSQL it held a pooled connection. If the SMS fails nothing is written (503, or 422
for a number the provider refuses); if the SMS went but the writing fails (the phone was
registered a moment before by someone else: 409), the guest holds a code that opens nothing.
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
    """Refuse a registered phone (409) or one over its SMS limits (429), then text `code`.

    Reads in a transaction of its own and writes nothing: `register_on_behalf` does that.
    """
    with db.unit_of_work(write=False) as session:
        if guests.find(session, phone) is not None:
            raise guests.already_registered()
        logins.check_limits(session, settings, phone, None, now)
    text = sms.texts.registered_by_operator(code, settings.code_minutes)
    try:
        sender.send(phone, text)
    except sms.SmsError as error:
        raise logins.sms_problem(error) from error


def register_on_behalf(
    session: Session,
    settings: Settings,
    secret: bytes,
    phone: str,
    code: str,
    actor: str,
    now: datetime,
) -> Guest:
    """Register the phone with the login code `text_code` sent it, in the caller's transaction."""
    guest = guests.register(session, phone, now, by=actor)
    logins.issue_code(session, settings, secret, phone, None, PURPOSE, now, code=code)
    audit.record(session, actor, "guest.register", phone, now)
    return guest
