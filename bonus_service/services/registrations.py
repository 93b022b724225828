"""Registering a guest on the guest's behalf: the account, a login code, the SMS that carries it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

import sms
from bonus_service.models import Guest
from bonus_service.services import audit, guests, logins
from bonus_service.settings import Settings


def register_on_behalf(
    session: Session,
    settings: Settings,
    secret: bytes,
    sender: sms.SmsSender,
    phone: str,
    actor: str,
    now: datetime,
) -> Guest:
    """Register the phone and text it a login code, in the caller's transaction.

    The SMS goes before the caller commits: if it fails, the raised Problem rolls the
    registration back with it, so no guest is left registered without the message.
    """
    guest = guests.register(session, phone, now, by=actor)
    code, _ = logins.issue_code(session, settings, secret, phone, None, "registration", now)
    audit.record(session, actor, "guest.register", phone, now)
    try:
        sender.send(phone, sms.texts.registered_by_operator(code, settings.code_ttl_seconds // 60))
    except sms.SmsError as error:
        raise logins.sms_problem(error) from error
    return guest
