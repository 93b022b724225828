"""Operator accounts: create, authenticate with lock-out, open and close console sessions.

Each account is one person with a role (the contract's "People in the console"): `operator`
looks guests up, registers them and adjusts balances; `supervisor` also decides adjustments held
for review and reads the audit log; `marketing` works on programs and touches no guest.
"""

from __future__ import annotations

import functools
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bonus_service.credentials import digest
from bonus_service.models import LoginThrottle, Operator, OperatorSession

MAX_FAILURES = 5  # in a row, per typed name; per client address the limit is a setting
LOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)  # a count with no failure for this long starts again
SESSION_TTL = timedelta(hours=12)  # one shift; a new shift logs in again
MIN_PASSWORD = 10
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,59}")
ROLES = ("operator", "supervisor", "marketing")
GUEST_ROLES = frozenset({"operator", "supervisor"})  # may look guests up and adjust
SUPERVISOR = "supervisor"
TOKEN_PREFIX = "op_"  # noqa: S105 - a prefix, not a secret

# A subject's row unless it exists, made before it is locked: two first tries queue on it.
_NEW_THROTTLE = {
    name: dialect.insert(LoginThrottle)
    .values(key=bindparam("key"), failures=0)
    .on_conflict_do_nothing(index_elements=["key"])
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 60 ms a check here,
# so eight login threads need 150 MiB, not 512. Raising these later rehashes at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class LoginRefused(Exception):
    """A console login that failed: a wrong name or password, or a lock for now.

    `attempts_left` and `locked_until` are the typed name's, whether or not an operator has it;
    `address_locked` says the lock is the client address's; `known` (never shown) says an
    operator account has the name, `disabled` that it is disabled: both for the audit only.
    """

    def __init__(
        self,
        *,
        attempts_left: int | None = None,
        locked_until: datetime | None = None,
        address_locked: bool = False,
        known: bool = False,
        disabled: bool = False,
    ):
        super().__init__("login refused")
        self.attempts_left = attempts_left
        self.locked_until = locked_until
        self.address_locked = address_locked
        self.known = known
        self.disabled = disabled


def normalise_name(raw: str) -> str:
    """Names are compared case-insensitively: 'Anna ' logs in as 'anna'."""
    return raw.strip().lower()


def create(
    session: Session, name: str, password: str, now: datetime, *, role: str = "operator"
) -> Operator:
    """Add an operator with an argon2id hash of the password; ValueError says what is wrong."""
    name = normalise_name(name)
    if not NAME.fullmatch(name):
        raise ValueError("the name must be 1-60 latin letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise ValueError(f"the role must be one of {', '.join(ROLES)}, got {role!r}")
    _check_password(password)
    operator = Operator(
        name=name, password_hash=_hasher.hash(password), created_at=now, failed_logins=0,
        role=role,
    )
    try:
        with session.begin_nested():
            session.add(operator)
    except IntegrityError:
        raise ValueError(f"an operator named {name!r} already exists") from None
    return operator


def set_password(session: Session, name: str, password: str, now: datetime) -> bool:
    """A new password for an active operator (a forgotten one, or one that may have leaked).

    The operator's open sessions end, and the name's failure count and lock are cleared, so
    the new password works at once. False if no active operator has the name.
    """
    _check_password(password)
    name = normalise_name(name)
    operator = session.scalar(
        select(Operator).where(Operator.name == name, Operator.disabled_at.is_(None))
    )
    if operator is None:
        return False
    operator.password_hash = _hasher.hash(password)
    session.execute(
        update(OperatorSession)
        .where(OperatorSession.operator_id == operator.id, OperatorSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == throttle_key("name", name)))
    return True


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must be at least {MIN_PASSWORD} characters")


def authenticate(
    session: Session,
    name: str,
    password: str,
    now: datetime,
    *,
    address: str,
    address_limit: int,
) -> Operator:
    """The operator this password opens; raises LoginRefused.

    Each try is counted against the typed name and the client address, under their rows'
    locks, before the password is checked, so parallel guesses cannot get past the limits: the
    fifth failure in a row locks the name, the `address_limit`-th the address, for `LOCK`.
    Every name is counted alike, an operator's or not, and an unknown or disabled one is checked
    against a decoy hash: neither the answers nor their timing tell which names exist.
    """
    name = normalise_name(name)
    by_name, by_address = _throttles(session, {"name": name, "address": address}, now)
    operator = session.scalar(select(Operator).where(Operator.name == name))
    enabled = operator is not None and operator.disabled_at is None
    # for the audit: a refusal of an existing account is recorded, a disabled one's included
    account = {"known": operator is not None, "disabled": operator is not None and not enabled}
    if by_address.locked_until is not None:
        raise LoginRefused(locked_until=by_address.locked_until, address_locked=True, **account)
    if by_name.locked_until is not None:
        raise LoginRefused(locked_until=by_name.locked_until, **account)
    _count_failure(by_name, MAX_FAILURES, now)
    _count_failure(by_address, address_limit, now)
    session.commit()  # the try counts even though the request may fail; no lock while hashing
    if not _matches(operator.password_hash if enabled else _decoy_hash(), password) or not enabled:
        if by_address.locked_until is not None:  # this failure closed the address
            raise LoginRefused(
                locked_until=by_address.locked_until, address_locked=True, **account
            )
        raise LoginRefused(
            attempts_left=MAX_FAILURES - by_name.failures,
            locked_until=by_name.locked_until,
            **account,
        )
    # Not a failure after all: the name's count starts again, the address's loses this try.
    # In SQL, on the rows as they are now: the locks went with the commit above, and a wrong
    # guess another worker counted from this address while the password was hashed must stay
    # counted (writing back the value read before the commit lost it).
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == by_name.key))
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == by_address.key)
        .values(
            failures=LoginThrottle.failures - 1,
            locked_until=case(
                (LoginThrottle.failures - 1 < address_limit, None),
                else_=LoginThrottle.locked_until,
            ),
        )
    )
    session.expunge(by_name)
    session.expunge(by_address)
    if _hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = _hasher.hash(password)
    return operator


def throttle_key(kind: str, value: str) -> str:
    """The row of a typed name or a client address: a digest, so typed text is never stored."""
    return digest(f"{kind}:{value}")


def _throttles(session: Session, subjects: dict[str, str], now: datetime) -> list[LoginThrottle]:
    """The subjects' rows, made if missing and locked (in key order: no deadlock between two
    logins); a lock that has run out starts a fresh count."""
    keys = {kind: throttle_key(kind, value) for kind, value in subjects.items()}
    insert = _NEW_THROTTLE[session.get_bind().dialect.name]
    for key in sorted(keys.values()):
        session.execute(insert, {"key": key})
    rows = {
        row.key: row
        for row in session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.key.in_(keys.values()))
            .order_by(LoginThrottle.key)
            .with_for_update()
        )
    }
    for row in rows.values():
        if row.locked_until is not None and row.locked_until <= now:
            row.failures, row.locked_until = 0, None
    return [rows[key] for key in keys.values()]


def _count_failure(row: LoginThrottle, limit: int, now: datetime) -> None:
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= limit:
        row.locked_until = now + LOCK


def forget_throttles(session: Session, now: datetime) -> int:
    """Forget counts with no failure for a day and no lock still running (the hourly purge)."""
    result = session.execute(
        delete(LoginThrottle).where(
            or_(LoginThrottle.last_failure_at.is_(None),
                LoginThrottle.last_failure_at < now - FORGET_AFTER),
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
    )
    return result.rowcount


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def person(session: Session, name: str, *, lock: bool = False) -> Operator | None:
    """The enabled account a name (any case) belongs to, or None; `lock` holds its row until
    the transaction ends, so one person's adjustments are decided one after another."""
    query = select(Operator).where(
        Operator.name == normalise_name(name), Operator.disabled_at.is_(None)
    )
    return session.scalar(query.with_for_update() if lock else query)


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
