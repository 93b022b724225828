"""SMS codes: send with limits, verify with a bounded number of tries, use each once."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import sms
from bonus_service.db import Database
from bonus_service.dbutil import insert_ignore
from bonus_service.errors import (
    CodeRefused,
    DomainError,
    Invalid,
    LoginCodeRefused,
    RateLimited,
    Unavailable,
)
from bonus_service.models import Guest, LoginCode, SmsSend
from bonus_service.services import guests, sms_budget
from bonus_service.settings import Settings

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class CodeSent:
    phone: str
    expires_in: int
    resend_after: int


def _too_many(detail: str, retry_after: float, limit: str | None = None) -> RateLimited:
    """Too many (Retry-After); `limit` names which one when a code was refused ("phone_resend",
    "phone_hour", "phone_day", "address_hour", "network_hour"): a page can then tell "enter the
    code you got" from "wait"."""
    return RateLimited(detail, max(1, math.ceil(retry_after)), limit=limit)


def _sends_since(session: Session, column, value: str, since: datetime) -> list[datetime]:
    """The codes sent since `since` to (or for) `value` (burn warnings are no codes)."""
    return list(
        session.scalars(
            select(SmsSend.sent_at)
            .where(
                column == value,
                SmsSend.sent_at > since,
                SmsSend.purpose != sms_budget.BURN_WARNING,
            )
            .order_by(SmsSend.sent_at)
        )
    )


def check_limits(
    session: Session, settings: Settings, phone: str, address: str | None, now: datetime
) -> None:
    """Refuse (RateLimited) a code over a per-phone, per-address or per-network limit. Call it
    holding the locks `lock_subjects` takes, or two parallel calls both see room."""
    today = _sends_since(session, SmsSend.phone, phone, now - DAY)
    by_phone = [sent for sent in today if sent > now - HOUR]
    if by_phone and (
        wait := by_phone[-1] + timedelta(seconds=settings.sms_resend_seconds) - now
    ) > timedelta(0):
        raise _too_many(
            "A code was sent to this phone a moment ago; wait before asking again.",
            wait.total_seconds(),
            "phone_resend",
        )
    _within(by_phone, settings.sms_per_phone_hour, HOUR, now, "phone_hour",
            "Too many codes for this phone this hour.")
    _within(today, settings.sms_per_phone_day, DAY, now, "phone_day",
            "Too many codes for this phone today.")
    if address is None:
        return
    by_address = _sends_since(session, SmsSend.address, address, now - HOUR)
    _within(by_address, settings.sms_per_address_hour, HOUR, now, "address_hour",
            "Too many codes asked from this address this hour.")
    network = sms_budget.network_of(address)
    if network is not None:
        by_network = _sends_since(session, SmsSend.network, network, now - HOUR)
        _within(by_network, settings.sms_per_network_hour, HOUR, now, "network_hour",
                "Too many codes asked from this network this hour.")


def _within(sent: list[datetime], limit: int, window: timedelta, now: datetime, name: str,
            detail: str) -> None:
    """Refuse (RateLimited naming the limit) when `sent`, oldest first, holds `limit` sends of the
    window; the wait is until the oldest of those leaves it."""
    if len(sent) >= limit:
        raise _too_many(detail, (sent[-limit] + window - now).total_seconds(), name)


def lock_subjects(session: Session, phone: str, address: str | None, now: datetime) -> None:
    """The locks a code's check-and-count holds: its phone, address and network (the budget's
    is taken by `sms_budget.check`, last)."""
    sms_budget.lock(session, f"phone:{phone}", now)
    if address is not None:
        sms_budget.lock(session, f"addr:{address}", now)
        if (network := sms_budget.network_of(address)) is not None:
            sms_budget.lock(session, f"net:{network}", now)


def reserve_send(
    session: Session,
    settings: Settings,
    phone: str,
    address: str | None,
    purpose: str,
    now: datetime,
) -> int:
    """Lock, check every limit and the hourly budget, and count one code's SMS → its send id.
    `address` None is an operator's call (no per-address or per-network limit)."""
    lock_subjects(session, phone, address, now)
    check_limits(session, settings, phone, address, now)
    sms_budget.check(session, settings.sms_per_hour, purpose, now)
    return sms_budget.record(session, phone, address or "operator", purpose, now)


def store_code(
    session: Session,
    settings: Settings,
    secret: bytes,
    phone: str,
    code: str,
    purpose: str,
    now: datetime,
) -> str:
    code_hash = sms.hash_code(secret, phone, code)
    insert_ignore(
        session,
        LoginCode.__table__,
        {
            "phone": phone,
            "code_hash": None,
            "created_at": now,
            "expires_at": now,
            "attempts_left": 0,
        },
    )
    session.execute(
        update(LoginCode)
        .where(LoginCode.phone == phone)
        .values(
            code_hash=code_hash,
            created_at=now,
            used_at=None,
            attempts_left=settings.code_attempts,
            expires_at=now + timedelta(seconds=settings.code_ttl_seconds),
            purpose=purpose,
        )
    )
    return code_hash


def issue_code(
    session: Session,
    settings: Settings,
    secret: bytes,
    phone: str,
    address: str | None,
    purpose: str,
    now: datetime,
    code: str | None = None,
) -> tuple[str, int]:
    """Check the limits and the budget, count the send and store a code → (code, send id).

    `address` is the guest's network address; None for an operator's call, which the
    per-address and per-network limits do not apply to (a call center is one address for
    many guests). `code` is one chosen by the caller; a fresh one by default.
    """
    send_id = reserve_send(session, settings, phone, address, purpose, now)
    code = code or sms.new_code()
    store_code(session, settings, secret, phone, code, purpose, now)
    return code, send_id


def deliver(
    db: Database,
    sender: sms.SmsSender,
    phone: str,
    body: str,
    send_id: int,
    secret: bytes,
    code: str,
) -> None:
    """Send the SMS; if it fails, take the send and the code back so nothing counts."""

    def forget_the_code(session: Session) -> None:
        session.execute(
            update(LoginCode)
            .where(
                LoginCode.phone == phone,
                LoginCode.code_hash == sms.hash_code(secret, phone, code),
            )
            .values(code_hash=None, attempts_left=0)
        )

    send_counted(db, sender, phone, body, send_id, also=forget_the_code)


def send_counted(
    db: Database,
    sender: sms.SmsSender,
    phone: str,
    body: str,
    send_id: int,
    also: Callable[[Session], None] | None = None,
) -> None:
    """Send an SMS already counted (`reserve_send`); if the provider refuses it, take the send
    back (and do `also` in the same transaction) so nothing counts, and raise the problem."""
    try:
        sender.send(phone, body)
    except sms.SmsError as error:
        with db.unit_of_work() as session:
            sms_budget.take_back(session, send_id)
            if also is not None:
                also(session)
            session.commit()
        raise sms_problem(error) from error


def sms_problem(error: sms.SmsError) -> DomainError:
    """The refusal of a code the SMS provider did not take: the number, or the provider."""
    if isinstance(error, sms.SmsRejected):
        return Invalid(
            "The SMS provider refused this phone number.",
            errors={"phone": "the SMS provider cannot deliver to this number"},
        )
    return Unavailable("SMS delivery is unavailable right now; try again later.", retry_after=30)


def code_sent(settings: Settings, phone: str) -> CodeSent:
    return CodeSent(phone, settings.code_ttl_seconds, settings.sms_resend_seconds)


def use_code(
    session: Session,
    settings: Settings,
    secret: bytes,
    phone: str,
    code: str,
    now: datetime,
) -> str | None:
    """Spend one try on the phone's live login code; it passes at most once (→ the code's
    purpose). Raises LoginCodeRefused or RateLimited. A login code only logs in: it is never
    consent to spend (that is a spending code, services.spending_codes).

    Call it before the request writes anything else: a wrong code's refusal is marked
    `keep_writes`, so its unit of work commits the counted try with whatever came before.
    """
    tried = _spend_a_try(session, phone, now)
    if tried is None:
        raise _no_live_code(session, settings, phone, now)
    if sms.code_matches(secret, phone, code, tried.code_hash) and _mark_used(
        session, phone, tried.code_hash, now
    ):
        return tried.purpose
    # The failed try counts although the request fails: the refusal keeps the decrement (the
    # caller's unit of work commits it with the answer). Rolling it back and counting again in
    # a transaction of its own would let parallel tries all see the same attempts left.
    refused = wrong_code(session, settings, phone, now, "code", LoginCodeRefused, tried)
    raise refused.keeping_writes()


def _spend_a_try(session: Session, phone: str, now: datetime):
    """One conditional UPDATE: the live code's (hash, attempts left after this try), or None."""
    return session.execute(
        update(LoginCode)
        .where(
            LoginCode.phone == phone,
            LoginCode.used_at.is_(None),
            LoginCode.code_hash.is_not(None),
            LoginCode.attempts_left > 0,
            LoginCode.expires_at > now,
        )
        .values(attempts_left=LoginCode.attempts_left - 1)
        .returning(LoginCode.code_hash, LoginCode.attempts_left, LoginCode.purpose)
    ).first()


def _mark_used(session: Session, phone: str, code_hash: str, now: datetime) -> bool:
    """Use the code up; False if a parallel right try used it first (it passes only once)."""
    used = session.execute(
        update(LoginCode)
        .where(
            LoginCode.phone == phone,
            LoginCode.used_at.is_(None),
            LoginCode.code_hash == code_hash,
        )
        .values(used_at=now)
    )
    return used.rowcount == 1


def wrong_code(session, settings, phone, now, field, refused: type[CodeRefused], tried
               ) -> DomainError:  # fmt: skip
    """A try that did not pass: `refused` with the tries left, or too many after the last."""
    if tried.attempts_left == 0:
        return _too_many(
            "Too many wrong codes: this code no longer works; request a new one.",
            resend_wait(session, settings, phone, now),
        )
    return refused(
        f"Wrong {field}.", errors={field: "wrong code"},
        facts={"attempts_left": tried.attempts_left},
    )  # fmt: skip


def _no_live_code(session, settings, phone, now) -> DomainError:
    """Why no try could be spent, from the phone's one code row (read once)."""
    held = session.execute(
        select(LoginCode.attempts_left).where(
            LoginCode.phone == phone,
            LoginCode.used_at.is_(None),
            LoginCode.code_hash.is_not(None),
            LoginCode.expires_at > now,
        )
    ).first()
    return no_live_code(session, settings, phone, now, "code", LoginCodeRefused, held)


def no_live_code(session, settings, phone, now, field, refused: type[CodeRefused], held
                 ) -> DomainError:  # fmt: skip
    """No try could be spent: too many if the live code ran out of tries (`held` is its
    row), else `refused` for a code expired, used or never sent."""
    if held is not None and held.attempts_left == 0:
        return _too_many(
            "Too many wrong codes: request a new one.", resend_wait(session, settings, phone, now)
        )
    return refused(
        f"There is no valid {field} for this phone: it expired, was used, or "
        "was never sent. Request a new one.",
        errors={field: "expired or not requested"},
        facts={"attempts_left": 0},
    )


def resend_wait(session, settings, phone, now) -> float:
    last = session.scalar(
        select(func.max(SmsSend.sent_at)).where(
            SmsSend.phone == phone, SmsSend.purpose != sms_budget.BURN_WARNING
        )
    )
    if last is None:
        return 1
    return (last + timedelta(seconds=settings.sms_resend_seconds) - now).total_seconds()


def send_login_code(
    db: Database,
    settings: Settings,
    secret: bytes,
    sender: sms.SmsSender,
    phone: str,
    address: str,
    now: datetime,
) -> CodeSent:
    """Issue a login code under the limits, commit it, then text it (taken back if that fails)."""
    with db.unit_of_work() as session:
        code, send_id = issue_code(session, settings, secret, phone, address, "login", now)
        session.commit()
    text = sms.texts.login_code(code, settings.code_minutes)
    deliver(db, sender, phone, text, send_id, secret, code)
    return code_sent(settings, phone)


def log_in(
    session: Session, settings: Settings, secret: bytes, phone: str, code: str, now: datetime
) -> tuple[Guest, str, datetime]:
    """Spend the code on a token (registering the guest on first success); the caller commits.

    Returns the guest, the token and when it expires.
    """
    purpose = use_code(session, settings, secret, phone, code, now)
    guest = guests.find_or_register(session, phone, now)
    expires_at = now + timedelta(days=settings.token_ttl_days)
    token = guests.issue_token(session, guest, now, expires_at - now, code_purpose=purpose)
    return guest, token, expires_at
