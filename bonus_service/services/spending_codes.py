"""Spending codes: a guest's consent, read out at a till, to pay one order with bonuses.

A spending code is not a login code: it lives in a table login never reads, so a code told to
a cashier cannot become a guest token. It binds the phone, the API client that asked for it and
the most it lets that client spend; it confirms one order of that client, once, within its
lifetime. A retried order (the same Idempotency-Key) replays its answer and uses nothing more.

The SMS goes before anything is written, as a registration's does (services.registrations):
no transaction is open while the SMS provider answers. The code comes from the request's
Idempotency-Key, so a duplicate that texts again texts the code that is stored.

An unregistered phone gets the same answer and counts against the same limits, but no SMS and
no code: the answer says nothing of who is registered, and nobody outside the program is
texted (a code it could never use, on the service's SMS budget).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import sms
from bonus_service.db import Database
from bonus_service.dbutil import insert_ignore
from bonus_service.errors import ConsentRequired, SpendingCodeRefused
from bonus_service.models import SpendingCode
from bonus_service.services import guests, logins
from bonus_service.settings import Settings
from rules.money import kopecks, money

PURPOSE = "spending"
FIELD = "confirmation_code"


def code_for(secret: bytes, client_id: int, key: str, phone: str, amount: Decimal) -> str:
    """The code one request texts, the same for its retries (see sms.code_for)."""
    return sms.code_for(secret, PURPOSE, str(client_id), key, phone, str(kopecks(amount)))


def text_code(
    db: Database,
    settings: Settings,
    sender: sms.SmsSender,
    phone: str,
    amount: Decimal,
    code: str,
    now: datetime,
) -> bool:
    """Count the SMS under the phone's locks and limits and the hourly budget (429, 503), then
    text `code` if the phone is a guest's; the send is taken back if the provider refuses it.
    Returns whether a code was texted (False for an unregistered phone, whose request counts
    all the same: a limit that only guests' phones reach would tell which phones are guests').

    The count commits before the SMS goes, as a registration's does: parallel requests for
    one phone wait on its lock, and all but the first find its send.
    """
    with db.unit_of_work() as session:
        send_id = logins.reserve_send(session, settings, phone, None, PURPOSE, now)
        registered = guests.find(session, phone) is not None
        session.commit()
    if not registered:
        return False
    logins.send_counted(db, sender, phone, sms.texts.spending_code(code, amount,
                                                                   settings.code_minutes), send_id)
    return True


def store(
    session: Session,
    settings: Settings,
    secret: bytes,
    *,
    phone: str,
    client_id: int,
    amount: Decimal,
    code: str | None,
    now: datetime,
) -> logins.CodeSent:
    """Store the code `text_code` counted and texted (None: nothing was texted, only
    counted), replacing the client's earlier code for this phone."""
    if code is not None:
        key = {"phone": phone, "client_id": client_id}
        insert_ignore(session, SpendingCode.__table__, {
            **key, "code_hash": None, "max_amount": 0, "created_at": now, "expires_at": now,
            "attempts_left": 0,
        })  # fmt: skip
        session.execute(
            update(SpendingCode)
            .where(SpendingCode.phone == phone, SpendingCode.client_id == client_id)
            .values(
                code_hash=sms.hash_code(secret, phone, code),
                max_amount=kopecks(amount),
                created_at=now,
                expires_at=now + timedelta(seconds=settings.code_ttl_seconds),
                attempts_left=settings.code_attempts,
                used_at=None,
                order_id=None,
            )
        )
    return logins.code_sent(settings, phone)


def use(
    session: Session,
    settings: Settings,
    secret: bytes,
    *,
    phone: str,
    client_id: int,
    code: str,
    redeem: Decimal,
    order_id: str,
    now: datetime,
) -> None:
    """Spend one try of this client's live code for the phone; it passes once, for at most
    its amount, and is then used by `order_id`. Raises SpendingCodeRefused or
    ConsentRequired (no consent: 403) or RateLimited.

    No consent, not "not authenticated": on an order 401 means the API key, and a till that
    read it so would stop selling. Call it before the request writes anything else: a wrong
    code's counted try is kept with the refusal (`keep_writes`).
    """
    mine = (SpendingCode.phone == phone, SpendingCode.client_id == client_id)
    tried = session.execute(
        update(SpendingCode)
        .where(
            *mine,
            SpendingCode.used_at.is_(None),
            SpendingCode.code_hash.is_not(None),
            SpendingCode.attempts_left > 0,
            SpendingCode.expires_at > now,
        )
        .values(attempts_left=SpendingCode.attempts_left - 1)
        .returning(SpendingCode.id, SpendingCode.code_hash, SpendingCode.attempts_left,
                   SpendingCode.max_amount)
    ).first()  # fmt: skip
    if tried is None:
        held = session.execute(
            select(SpendingCode.attempts_left).where(
                *mine,
                SpendingCode.used_at.is_(None),
                SpendingCode.code_hash.is_not(None),
                SpendingCode.expires_at > now,
            )
        ).first()
        raise logins.no_live_code(session, settings, phone, now, FIELD, SpendingCodeRefused, held)
    if not sms.code_matches(secret, phone, code, tried.code_hash):
        refused = logins.wrong_code(session, settings, phone, now, FIELD, SpendingCodeRefused,
                                    tried)  # fmt: skip
        raise refused.keeping_writes()
    if kopecks(redeem) > tried.max_amount:
        # the right code: the refusal rolls its try back, and the code stays for a smaller spend
        raise over_its_amount(redeem, money(tried.max_amount))
    used = session.execute(
        update(SpendingCode)
        .where(SpendingCode.id == tried.id, SpendingCode.used_at.is_(None))
        .values(used_at=now, order_id=order_id)
    )
    if used.rowcount != 1:  # unreachable while the try's row lock is held; never pass twice
        raise logins.no_live_code(session, settings, phone, now, FIELD, SpendingCodeRefused, None)


def over_its_amount(redeem: Decimal, allowed: Decimal) -> ConsentRequired:
    return ConsentRequired(
        f"The guest's confirmation_code allows spending at most {allowed} bonuses, and this "
        f"order redeems {redeem}: redeem less, or ask for a code for this amount with "
        "POST /v1/orders/confirmation-code.",
        errors={FIELD: f"allows at most {allowed}"},
        facts={"allowed": f"{allowed}"},
    )
