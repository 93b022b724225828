"""The nightly expiry: an idle guest's available balance burns, one batch per transaction.

Idle means no completed order for `idle_months` calendar months, counted from the last one (or
from registration): exactly the guests with last activity before rules.idle_cutoff(program, now),
which is the arithmetic /v1/me shows as burns_at. Only `balance - held` burns: bonuses held by an
open order stay with it (spent at completion, or released by the hold timer and burned by a
later run if the guest is still idle). Under the program's `expiry.open_orders: "wait"` (the
default) a guest with an order still `placed`, placed within `expiry.open_order_hours` (24),
is not burned at all: the order may complete after the run, and the warning SMS asked for
nothing more than an order; an order left open longer protects nothing.

Each batch is set-based SQL whose write is conditional on the guest still being idle with
something to burn, so a run racing an order, another run, or a crash burns each balance once,
and each burn is one `expiry` entry whose amount is exactly the balance change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, exists, func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

import rules
from bonus_service.db import Database
from bonus_service.models import Guest, Order, UTCDateTime
from bonus_service.services.reasons import bonuses, reason
from rules.money import money

ACTOR = "expiry-job"
DEFAULT_BATCH_SIZE = 5000

GUESTS = Guest.__table__


@dataclass(frozen=True)
class ExpiryReport:
    """What a run burned (or, dry, would burn): balances and kopecks."""

    guests: int
    kopecks: int
    cutoff: datetime | None = None
    rules_version: str | None = None
    dry_run: bool = False

    @property
    def bonuses(self) -> Decimal:
        return money(self.kopecks)


@dataclass(frozen=True)
class Batch:
    """One committed batch: the last guest id it looked at, and what it burned."""

    last_id: int
    guests: int
    kopecks: int


@dataclass(frozen=True)
class _Terms:
    cutoff: datetime
    written_at: datetime  # the entries' date
    version: str
    months: int
    open_since: datetime | None  # orders placed after it keep the balance ("wait"); or None


def expire_balances(
    db: Database,
    book: rules.ProgramBook,
    now: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    on_batch: Callable[[Batch], None] | None = None,
    written_at: datetime | None = None,
) -> ExpiryReport:
    """Burn every idle available balance as of `now` under the program then in force.

    `on_batch` is called after each committed batch (the lease's heartbeat); if it raises, the
    run stops there with every earlier batch kept, and a rerun finishes the rest. `written_at`
    dates the entries when it differs from `now` (`bonus expire --as-of` a past moment: the
    burn is written today, and an entry dated back would sit before credits it burned).
    """
    program = book.in_force(now)
    open_since = (now - timedelta(hours=program.open_order_hours)
                  if program.open_orders == "wait" else None)  # fmt: skip
    terms = _Terms(rules.idle_cutoff(program, now), written_at or now, program.version,
                   program.idle_months, open_since)  # fmt: skip
    if dry_run:
        guests, kopecks = _would_burn(db, terms)
        return ExpiryReport(guests, kopecks, terms.cutoff, terms.version, dry_run=True)
    burn = _burn_postgresql if db.engine.dialect.name == "postgresql" else _burn_sqlite
    after, guests, kopecks = 0, 0, 0
    while True:
        with db.unit_of_work() as session:
            batch = burn(session, terms, after, batch_size)
            session.commit()
        if batch is None:
            return ExpiryReport(guests, kopecks, terms.cutoff, terms.version)
        after, guests, kopecks = batch.last_id, guests + batch.guests, kopecks + batch.kopecks
        if on_batch is not None:
            on_batch(batch)


def _idle(terms: _Terms):
    """Guests idle since before the cutoff with something available to burn (and, under
    "wait", no order placed since `open_since` still open)."""
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


def _no_open_order(terms: _Terms) -> tuple[str, dict]:
    """The condition and its parameter, or nothing under "burn"."""
    if terms.open_since is None:
        return "", {}
    return _NO_OPEN_ORDER, {"open_since": terms.open_since}


def _would_burn(db: Database, terms: _Terms) -> tuple[int, int]:
    query = select(func.count(), func.coalesce(func.sum(Guest.balance - Guest.held), 0)).where(
        _idle(terms)
    )
    with db.unit_of_work(write=False) as session:
        guests, kopecks = session.execute(query).one()
    return int(guests), int(kopecks)


# PostgreSQL: two statements per batch. The first locks the batch (FOR UPDATE waits for an
# order or adjustment in flight and re-reads its row); the second burns, with a snapshot taken
# after those locks, so it sees what the waited-for transactions wrote — the guest's row, and
# the order an order's transaction inserted (a sub-select in the locking statement itself would
# still read the statement's older snapshot: an order placed with a redeem while the batch
# waited on its guest did not keep the balance, a review found). The rows stay locked, so
# `old.balance` is the balance the UPDATE replaces, and the INSERT takes its amounts from the
# UPDATE's RETURNING: the entries and the balances cannot disagree.
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


def _burn_postgresql(session: Session, terms: _Terms, after: int, size: int) -> Batch | None:
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


def _burn_sqlite(session: Session, terms: _Terms, after: int, size: int) -> Batch | None:
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


def _writing(sql: str, terms: _Terms, kopecks: str) -> tuple[TextClause, dict]:
    """A batch's writing statement: `sql` with the reason for the `kopecks` column and the
    open-order test put in, and the parameters both databases' statements take."""
    fragment, reason_params = reason_sql(kopecks, terms.months)
    open_orders, open_params = _no_open_order(terms)
    statement = text(sql.format(reason=fragment, open_orders=open_orders))
    for name in ("cutoff", "now", *open_params):
        statement = statement.bindparams(bindparam(name, type_=UTCDateTime))
    params = {"cutoff": terms.cutoff, "now": terms.written_at, "version": terms.version,
              "actor": ACTOR, **open_params, **reason_params}  # fmt: skip
    return statement, params


def reason_sql(kopecks: str, months: int) -> tuple[str, dict]:
    """services.reasons.reason("expiry", ...) as an SQL expression of a kopecks column.

    The words come from the Python text itself, so the two cannot drift apart silently; a test
    compares them over many amounts on both databases.
    """
    probe, one = Decimal(5), Decimal(1)  # the verb agrees: «Сгорело 5 бонусов», «Сгорел 1 бонус»
    prefix, found, suffix = reason("expiry", None, probe, months=months).partition(bonuses(probe))
    prefix_1, found_1, _ = reason("expiry", None, one, months=months).partition(bonuses(one))
    assert found and found_1, "the expiry reason no longer shows the amount as bonuses()"
    words = {f"w_{n}": bonuses(Decimal(n)).partition(" ")[2] for n in (1, 2, 5)}
    whole = f"CAST({kopecks} / 100 AS TEXT)"
    n = f"({kopecks} / 100)"
    fraction = (
        f"{whole} || ',' || CASE WHEN {kopecks} % 100 < 10 THEN '0' ELSE '' END "
        f"|| CAST({kopecks} % 100 AS TEXT) || ' ' || CAST(:w_2 AS TEXT)"
    )
    expression = (
        f"CASE"
        f" WHEN {kopecks} % 100 <> 0 THEN CAST(:r_prefix AS TEXT) || {fraction}"
        f" WHEN {n} % 10 = 1 AND {n} % 100 <> 11"
        f" THEN CAST(:r_prefix_1 AS TEXT) || {whole} || ' ' || CAST(:w_1 AS TEXT)"
        f" WHEN {n} % 10 BETWEEN 2 AND 4 AND {n} % 100 NOT BETWEEN 12 AND 14"
        f" THEN CAST(:r_prefix AS TEXT) || {whole} || ' ' || CAST(:w_2 AS TEXT)"
        f" ELSE CAST(:r_prefix AS TEXT) || {whole} || ' ' || CAST(:w_5 AS TEXT)"
        f" END || CAST(:r_suffix AS TEXT)"
    )
    return expression, {"r_prefix": prefix, "r_prefix_1": prefix_1, "r_suffix": suffix, **words}
