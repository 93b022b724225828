"""Operator accounts: create, authenticate with lock-out, open and close console sessions."""

from __future__ import annotations

import functools
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bonus_service.auth import digest
from bonus_service.models import Operator, OperatorSession

MAX_FAILURES = 5
LOCK = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)  # one shift; a new shift logs in again
MIN_PASSWORD = 10
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,59}")
TOKEN_PREFIX = "op_"  # noqa: S105 - a prefix, not a secret

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 60 ms a check here,
# so eight login threads need 150 MiB, not 512. Raising these later rehashes at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class LoginRefused(Exception):
    """A console login that failed: a wrong name or password, or an account locked for now."""

    def __init__(self, *, attempts_left: int | None = None, locked_until: datetime | None = None):
        super().__init__("login refused")
        self.attempts_left = attempts_left
        self.locked_until = locked_until


def normalise_name(raw: str) -> str:
    """Names are compared case-insensitively: 'Anna ' logs in as 'anna'."""
    return raw.strip().lower()


def create(session: Session, name: str, password: str, now: datetime) -> Operator:
    """Add an operator with an argon2id hash of the password; ValueError says what is wrong."""
    name = normalise_name(name)
    if not NAME.fullmatch(name):
        raise ValueError("the name must be 1-60 latin letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must be at least {MIN_PASSWORD} characters")
    operator = Operator(
        name=name, password_hash=_hasher.hash(password), created_at=now, failed_logins=0
    )
    try:
        with session.begin_nested():
            session.add(operator)
    except IntegrityError:
        raise ValueError(f"an operator named {name!r} already exists") from None
    return operator


def authenticate(session: Session, name: str, password: str, now: datetime) -> Operator:
    """The operator this password opens; raises LoginRefused.

    Each try is counted, under the account's row lock, before the password is checked, so
    parallel guesses cannot get past the limit: the fifth failure locks the account.
    """
    operator = session.scalar(
        select(Operator).where(Operator.name == normalise_name(name)).with_for_update()
    )
    if operator is None or operator.disabled_at is not None:
        _matches(_decoy_hash(), password)  # as slow as a real check: names are not guessable
        raise LoginRefused()
    if operator.locked_until is not None and operator.locked_until > now:
        raise LoginRefused(locked_until=operator.locked_until)
    _count_try(operator, now)
    session.commit()  # the try counts even though the request may fail; no lock while hashing
    if not _matches(operator.password_hash, password):
        raise LoginRefused(
            attempts_left=MAX_FAILURES - operator.failed_logins,
            locked_until=operator.locked_until,
        )
    operator.failed_logins, operator.locked_until = 0, None
    if _hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = _hasher.hash(password)
    return operator


def _count_try(operator: Operator, now: datetime) -> None:
    if operator.locked_until is not None:  # a lock that has run out starts a fresh count
        operator.failed_logins, operator.locked_until = 0, None
    operator.failed_logins += 1
    if operator.failed_logins >= MAX_FAILURES:
        operator.locked_until = now + LOCK


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def disable(session: Session, name: str, now: datetime) -> bool:
    """Close an account for good: it cannot log in, and its open sessions stop working."""
    changed = session.execute(
        update(Operator)
        .where(Operator.name == normalise_name(name), Operator.disabled_at.is_(None))
        .values(disabled_at=now)
    )
    return changed.rowcount == 1


def open_session(session: Session, operator: Operator, now: datetime) -> str:
    """A new console session; the token goes into the cookie, only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        OperatorSession(
            token_hash=digest(token),
            operator_id=operator.id,
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
    )
    return token


def session_operator(session: Session, token: str | None, now: datetime) -> Operator | None:
    """The operator of a live session: not revoked, not expired, account not disabled."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(Operator, OperatorSession)
        .join(OperatorSession, OperatorSession.operator_id == Operator.id)
        .where(OperatorSession.token_hash == digest(token))
    ).first()
    if row is None or row.OperatorSession.revoked_at is not None:
        return None
    if row.OperatorSession.expires_at <= now or row.Operator.disabled_at is not None:
        return None
    return row.Operator


def close_session(session: Session, token: str, now: datetime) -> None:
    """Log out: the token stops working even if a copy of the cookie survives."""
    session.execute(
        update(OperatorSession)
        .where(OperatorSession.token_hash == digest(token), OperatorSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
