"""The set-based burn of idle balances: one batch of guests per call, two statements at most.

The nightly expiry (scheduler/expiry.py) decides who is idle and when; this module writes it.
Each batch's write is conditional on the guest still being idle with something available
(`balance > held`), so a batch racing an order, another run, or a crash burns each balance
once, and each burn is one `expiry` entry whose amount is exactly the balance change: only
`balance - held` burns, bonuses held by open orders stay with them. A loop of `move` per guest
would cost a round trip per guest; a night burns a tenth of a million balances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from bonus_service.models import Guest, Order, UTCDateTime

GUESTS = Guest.__table__

# The entry's reason as an SQL expression of a kopecks column, with its parameters: the
# caller owns the words (`scheduler.expiry.reason_sql`), the ledger the column they read.
ReasonSql = Callable[[str], tuple[str, dict]]


@dataclass(frozen=True)
class Terms:
    """Which balances burn, and what their entries say."""

    cutoff: datetime  # idle: last activity before it
    open_since: datetime | None  # an order placed after it and still open keeps the balance
    written_at: datetime  # the entries' date
    rules_version: str
    actor: str
    reason: ReasonSql


@dataclass(frozen=True)
class Batch:
    """One batch: the last guest id it looked at, and what it burned."""

    last_id: int
    guests: int
    kopecks: int


def _idle(terms: Terms):
    """Guests idle since before the cutoff with something available to burn (and, with
    `open_since`, no order placed since then still open)."""
    idle = (Guest.last_activity < terms.cutoff) & (Guest.balance > Guest.held)
    if terms.open_since is not None:
        idle &= ~exists().where(Order.guest_id == Guest.id, Order.status == "placed",
                                Order.placed_at > terms.open_since)  # fmt: skip
    return idle


# the same for the hand-written statements below, where the guests table is `g`
_NO_OPEN_ORDER = (
    "AND NOT EXISTS (SELECT 1 FROM orders AS o "
    "WHERE o.guest_id = g.id AND o.status = 'placed' AND o.placed_at > :open_since)"
)


def _no_open_order(terms: Terms) -> tuple[str, dict]:
    """The condition and its parameter, or nothing when open orders keep nothing."""
    if terms.open_since is None:
        return "", {}
    return _NO_OPEN_ORDER, {"open_since": terms.open_since}


def burnable(session: Session, terms: Terms) -> tuple[int, int]:
    """(guests, kopecks) a burn on these terms would take now, writing nothing."""
    query = select(func.count(), func.coalesce(func.sum(Guest.balance - Guest.held), 0)).where(
        _idle(terms)
    )
    guests, kopecks = session.execute(query).one()
    return int(guests), int(kopecks)


def burn_batch(session: Session, terms: Terms, after: int, size: int) -> Batch | None:
    """Burn the available balances of up to `size` idle guests with ids above `after`, in the
    caller's transaction; None when no guest is left to look at."""
    if session.get_bind().dialect.name == "postgresql":
        return _burn_postgresql(session, terms, after, size)
    return _burn_sqlite(session, terms, after, size)


# PostgreSQL: two statements per batch. The first locks the batch (FOR UPDATE waits for an
# order or adjustment in flight and re-reads its row); the second burns, with a snapshot taken
# after those locks, so it sees what the waited-for transactions wrote — the guest's row, and
# the order an order's transaction inserted (a sub-select in the locking statement itself
# would still read the statement's older snapshot). The rows stay locked, so `old.balance` is
# the balance the UPDATE replaces, and the INSERT takes its amounts from the UPDATE's
# RETURNING: the entries and the balances cannot disagree.
_POSTGRESQL_LOCK = """
SELECT id FROM guests
WHERE id > :after AND balance > held AND COALESCE(last_order_at, registered_at) < :cutoff
ORDER BY id
LIMIT :size
FOR UPDATE
"""
_POSTGRESQL_BURN = """
WITH burned AS (
    UPDATE guests AS g SET balance = g.held
    FROM (SELECT id, balance FROM guests WHERE id = ANY(:ids)) AS old
    WHERE g.id = old.id AND g.balance > g.held
      AND COALESCE(g.last_order_at, g.registered_at) < :cutoff {open_orders}
    RETURNING g.id AS guest_id, old.balance - g.held AS burned, g.held AS balance_after
), entries AS (
    INSERT INTO ledger_entries
        (guest_id, kind, amount, held_delta, balance_after, rules_version, actor, reason,
         created_at)
    SELECT guest_id, 'expiry', -burned, 0, balance_after, :version, :actor, {reason}, :now
    FROM burned
    ORDER BY guest_id
    RETURNING amount
)
SELECT count(*), coalesce(-sum(amount), 0) FROM entries
"""


def _burn_postgresql(session: Session, terms: Terms, after: int, size: int) -> Batch | None:
    cutoff = bindparam("cutoff", type_=UTCDateTime)
    ids = session.scalars(
        text(_POSTGRESQL_LOCK).bindparams(cutoff),
        {"after": after, "size": size, "cutoff": terms.cutoff},
    ).all()
    if not ids:
        return None
    statement, params = _writing(_POSTGRESQL_BURN, terms, "burned")
    guests, kopecks = session.execute(statement, {"ids": list(ids), **params}).one()
    return Batch(max(ids), int(guests), int(kopecks))


# SQLite: writers are serialised (the unit of work begins IMMEDIATE), so within the batch's
# transaction nothing else moves: the INSERT and the UPDATE see the same rows and balances.
_SQLITE_ENTRIES = """
INSERT INTO ledger_entries
    (guest_id, kind, amount, held_delta, balance_after, rules_version, actor, reason, created_at)
SELECT g.id, 'expiry', -(g.balance - g.held), 0, g.held, :version, :actor, {reason}, :now
FROM guests AS g
WHERE g.id > :after AND g.id <= :last AND g.balance > g.held
  AND COALESCE(g.last_order_at, g.registered_at) < :cutoff {open_orders}
ORDER BY g.id
"""


def _burn_sqlite(session: Session, terms: Terms, after: int, size: int) -> Batch | None:
    idle = _idle(terms)
    batch = select(Guest.id).where(Guest.id > after, idle).order_by(Guest.id).limit(size)
    last_id = session.scalar(select(func.max(batch.subquery().c.id)))
    if last_id is None:
        return None
    kopecks = session.scalar(
        select(func.coalesce(func.sum(Guest.balance - Guest.held), 0)).where(
            Guest.id > after, Guest.id <= last_id, idle
        )
    )
    statement, params = _writing(_SQLITE_ENTRIES, terms, "(balance - held)")
    entries = session.execute(statement, {"after": after, "last": last_id, **params}).rowcount
    burned = session.execute(
        update(GUESTS)
        .where(GUESTS.c.id > after, GUESTS.c.id <= last_id, idle)
        .values(balance=GUESTS.c.held)
        .returning(GUESTS.c.id)
    ).all()
    if len(burned) != entries:
        raise RuntimeError("expiry batch changed under the write lock")  # cannot happen
    return Batch(last_id, entries, int(kopecks))


def _writing(sql: str, terms: Terms, kopecks: str) -> tuple[TextClause, dict]:
    """A batch's writing statement: `sql` with the reason for the `kopecks` column and the
    open-order test put in, and the parameters both databases' statements take."""
    fragment, reason_params = terms.reason(kopecks)
    open_orders, open_params = _no_open_order(terms)
    statement = text(sql.format(reason=fragment, open_orders=open_orders))
    for name in ("cutoff", "now", *open_params):
        statement = statement.bindparams(bindparam(name, type_=UTCDateTime))
    params = {"cutoff": terms.cutoff, "now": terms.written_at, "version": terms.rules_version,
              "actor": terms.actor, **open_params, **reason_params}  # fmt: skip
    return statement, params
