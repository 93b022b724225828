"""Reconciliation: every balance against its ledger, every order against its bonus movements.

Three set-based checks, each one SQL statement that returns only what disagrees:
- balances: guests.balance = Σ amount and guests.held = Σ held_delta of the guest's entries;
- entries: each entry's balance_after is the running Σ amount up to it, and each movement of an
  order moves exactly what the order says (its redeemed bonuses, or its accrual);
- orders: the movements of each order are one of the sequences services/checkout.py can write
  for its status (`legal_sequences`, from the lifecycle checkout follows: services/lifecycle.py).
On PostgreSQL all three read one REPEATABLE READ snapshot, so a live service causes no false
alarms; SQLite's read transaction is a snapshot already.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from itertools import product

from sqlalchemy import and_, case, false, func, not_, or_, select
from sqlalchemy.orm import Session

from bonus_service.db import Database
from bonus_service.models import ApiClient, Guest, LedgerEntry, Order
from bonus_service.services import lifecycle
from bonus_service.services.checkout import completion_entry
from rules.money import money

LIMIT = 1000  # differences listed per check: enough to see any systematic fault
ORDER_KINDS = lifecycle.KINDS
STATUSES = lifecycle.STATUSES
SNAPSHOT = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}


@dataclass(frozen=True)
class BalanceDifference:
    guest_id: int
    phone: str
    balance: int
    held: int
    ledger_balance: int
    ledger_held: int

    def line(self) -> str:
        return (
            f"balance  guest {self.guest_id} {self.phone}: balance {money(self.balance)} "
            f"vs ledger {money(self.ledger_balance)}, held {money(self.held)} "
            f"vs ledger {money(self.ledger_held)}"
        )


@dataclass(frozen=True)
class EntryDifference:
    entry_id: int
    guest_id: int
    kind: str
    order_id: str | None
    problem: str

    def line(self) -> str:
        where = f"guest {self.guest_id}" + (f", order {self.order_id}" if self.order_id else "")
        return f"entry    {self.entry_id} ({self.kind}, {where}): {self.problem}"


@dataclass(frozen=True)
class OrderDifference:
    order_id: str
    client: str  # order ids are unique per client
    status: str
    found: tuple[str, ...]
    expected: tuple[tuple[str, ...], ...]

    def line(self) -> str:
        expected = " | ".join(" ".join(s) or "none" for s in self.expected)
        return (
            f"order    {self.order_id} of {self.client} ({self.status}): movements "
            f"{' '.join(self.found) or 'none'}; expected {expected}"
        )


@dataclass(frozen=True)
class Reconciliation:
    """What was checked, and every difference found (up to `limit` per check)."""

    guests: int
    orders: int
    entries: int
    balances: tuple[BalanceDifference, ...]
    entries_off: tuple[EntryDifference, ...]
    orders_off: tuple[OrderDifference, ...]
    limit: int = LIMIT

    @property
    def differences(self) -> int:
        return len(self.balances) + len(self.entries_off) + len(self.orders_off)

    def lines(self) -> list[str]:
        """The report as the CLI prints it: the differences, then one summary line."""
        checks = (self.balances, self.entries_off, self.orders_off)
        lines = [difference.line() for found in checks for difference in found]
        capped = any(len(found) >= self.limit for found in checks)
        summary = (
            f"checked {self.guests} guests, {self.entries} ledger entries, {self.orders} orders: "
            f"{self.differences or 'no'} difference{'' if self.differences == 1 else 's'}"
        )
        return [*lines, summary + (f" (at most {self.limit} listed per check)" if capped else "")]


# The sequences checkout writes for an order in a status, from the lifecycle both follow.
legal_sequences = lifecycle.sequences


def snapshot(session: Session) -> Session:
    """Make a fresh read session one read-only transaction over a single snapshot.

    PostgreSQL reads run in autocommit (bonus_service/db.py), one snapshot per statement; a
    report that reads more than once, streams through a server-side cursor or sets a LOCAL
    option needs a transaction. SQLite's read transaction already is one snapshot.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options=SNAPSHOT)
    return session


def reconcile(db: Database, limit: int = LIMIT) -> Reconciliation:
    """Run every check on one consistent snapshot of the database."""
    with db.unit_of_work(write=False) as session:
        snapshot(session)
        guests, orders, entries = session.execute(
            select(
                select(func.count()).select_from(Guest).scalar_subquery(),
                select(func.count()).select_from(Order).scalar_subquery(),
                select(func.count()).select_from(LedgerEntry).scalar_subquery(),
            )
        ).one()
        return Reconciliation(
            guests,
            orders,
            entries,
            tuple(_balances(session, limit)),
            tuple(_running_sums(session, limit)) + tuple(_order_movements(session, limit)),
            tuple(_orders(session, limit)),
            limit,
        )


def _balances(session: Session, limit: int):
    sums = (
        select(
            LedgerEntry.guest_id,
            func.sum(LedgerEntry.amount).label("balance"),
            func.sum(LedgerEntry.held_delta).label("held"),
        )
        .group_by(LedgerEntry.guest_id)
        .subquery()
    )
    ledger_balance = func.coalesce(sums.c.balance, 0)
    ledger_held = func.coalesce(sums.c.held, 0)
    rows = session.execute(
        select(Guest.id, Guest.phone, Guest.balance, Guest.held, ledger_balance, ledger_held)
        .outerjoin(sums, sums.c.guest_id == Guest.id)
        .where((Guest.balance != ledger_balance) | (Guest.held != ledger_held))
        .order_by(Guest.id)
        .limit(limit)
    )
    return (BalanceDifference(*row[:4], int(row[4]), int(row[5])) for row in rows)


def _running_sums(session: Session, limit: int):
    """Entries whose balance_after is not the sum of the guest's amounts up to them."""
    running = func.sum(LedgerEntry.amount).over(
        partition_by=LedgerEntry.guest_id, order_by=LedgerEntry.id
    )
    entries = select(
        LedgerEntry.id,
        LedgerEntry.guest_id,
        LedgerEntry.kind,
        LedgerEntry.order_id,
        LedgerEntry.balance_after,
        running.label("running"),
    ).subquery()
    rows = session.execute(
        select(entries)
        .where(entries.c.balance_after != entries.c.running)
        .order_by(entries.c.id)
        .limit(limit)
    )
    return (
        EntryDifference(
            r.id,
            r.guest_id,
            r.kind,
            r.order_id,
            f"balance_after {money(r.balance_after)}, running sum {money(int(r.running))}",
        )
        for r in rows
    )


def _movement_fits_order():
    """The one shape each kind of order movement may have, given the order's figures."""
    e, redeemed, accrual = LedgerEntry, Order.redeemed, Order.accrual
    return or_(
        and_(e.kind == "hold", e.amount == 0, e.held_delta == redeemed),
        and_(e.kind == "spend", e.amount == -redeemed, e.held_delta == -redeemed),
        and_(e.kind == "release", e.amount == 0, e.held_delta == -redeemed),
        and_(e.kind == "accrual", e.amount == accrual, e.held_delta == 0),
        and_(e.kind == "refund", e.amount == redeemed, e.held_delta == 0),
        # a reversal takes back at most the accrual: less when the guest already spent it
        and_(e.kind == "reversal", e.amount <= 0, e.amount >= -accrual, e.held_delta == 0),
    )


def _order_movements(session: Session, limit: int):
    """Order movements of the wrong size, of an unknown kind, or on another guest's account."""
    rows = session.execute(
        select(LedgerEntry, Order.redeemed, Order.accrual, Order.guest_id.label("owner"))
        .join(Order, (Order.client_id == LedgerEntry.order_client_id)
              & (Order.id == LedgerEntry.order_id))
        .where(
            or_(
                not_(_movement_fits_order()),
                Order.guest_id.is_(None),
                LedgerEntry.guest_id != Order.guest_id,
            )
        )
        .order_by(LedgerEntry.id)
        .limit(limit)
    )
    for entry, redeemed, accrual, owner in rows:
        problem = (
            f"moves {money(entry.amount)} (held {money(entry.held_delta)}) for an order that "
            f"redeemed {money(redeemed)} and accrued {money(accrual)}"
        )
        if owner is None:
            problem = "belongs to an order of an unregistered phone, which moves no bonuses"
        elif owner != entry.guest_id:
            problem = f"is on guest {entry.guest_id}'s account; the order is guest {owner}'s"
        yield EntryDifference(entry.id, entry.guest_id, entry.kind, entry.order_id, problem)


def _orders(session: Session, limit: int):
    ids = session.execute(_illegal_orders(limit)).all()
    return (_order_difference(session, client_id, order_id) for client_id, order_id in ids)


@cache
def _illegal_orders(limit: int):
    """The statement listing orders whose movements are no legal sequence. Built once: the
    legal sequences are a few hundred SQL expressions, and building them took most of a
    reconcile's time (the ledger model's tests reconcile after every step)."""
    counts = (
        select(
            LedgerEntry.order_client_id,
            LedgerEntry.order_id,
            *(func.sum(case((LedgerEntry.kind == k, 1), else_=0)).label(k) for k in ORDER_KINDS),
            func.count().label("all"),
            func.sum(case((LedgerEntry.kind == "reversal", LedgerEntry.amount), else_=0)).label(
                "reversed"
            ),
        )
        .where(LedgerEntry.order_id.is_not(None))
        .group_by(LedgerEntry.order_client_id, LedgerEntry.order_id)
        .subquery()
    )
    return (
        select(Order.client_id, Order.id)
        .outerjoin(counts, (counts.c.order_client_id == Order.client_id)
                   & (counts.c.order_id == Order.id))
        .where(not_(_legal(counts)))
        .order_by(Order.id, Order.client_id)
        .limit(limit)
    )  # fmt: skip


def _legal(counts):
    """SQL: the order's movement counts are those of one of its legal sequences."""
    registered = Order.guest_id.is_not(None)
    facts = {
        "redeems": registered & (Order.redeemed > 0),
        "accrues": registered & (Order.accrual > 0),
        "completed": Order.completed_at.is_not(None),
    }
    cases = []
    for status, redeems, accrues, completed in product(STATUSES, *[(False, True)] * 3):
        shapes = {_shape(s) for s in legal_sequences(status, redeems, accrues, completed)}
        if not shapes:
            continue
        when = [Order.status == status]
        for name, value in zip(facts, (redeems, accrues, completed), strict=True):
            when.append(facts[name] if value else not_(facts[name]))
        # a cancel that refunds a spend takes back what earlier cancels wrote off of the
        # bonuses spent (lifecycle.RECOVERED): more such movements on those orders
        more = status == "cancelled" and completed and accrues
        legal = [_counts_are(counts, shape, more) for shape in shapes]
        if status == "cancelled" and completed and redeems:
            # no refund: only when a burn that emptied the account came in between
            settled = legal_sequences(status, redeems, accrues, completed, settled=True)
            legal += [and_(_counts_are(counts, _shape(seq)), _burned_in_between())
                      for seq in settled]  # fmt: skip
        cases.append(and_(*when, or_(*legal)))
    taken = func.coalesce(counts.c.reversed, 0)
    legal = or_(*cases) if cases else false()
    return and_(legal, taken >= -Order.accrual)  # never more than the order earned


def _burned_in_between():
    """SQL: an expiry that emptied the guest's account lies, in the ledger, after the order's
    completion entries and before its cancel's reversal."""
    own, burn = LedgerEntry.__table__.alias("own"), LedgerEntry.__table__.alias("burn")
    undone = (
        select(func.min(own.c.id))
        .where(own.c.order_client_id == Order.client_id, own.c.order_id == Order.id,
               own.c.kind == "reversal")
        .correlate(Order)
        .scalar_subquery()
    )
    return (
        select(burn.c.id)
        .where(burn.c.guest_id == Order.guest_id, burn.c.kind == "expiry",
               burn.c.balance_after == 0, burn.c.id > completion_entry(Order.client_id, Order.id),
               burn.c.id < undone)
        .exists()
    )  # fmt: skip


def _shape(sequence: tuple[str, ...]) -> tuple[int, ...]:
    """A sequence as how many movements of each kind it holds (the ledger orders them by id)."""
    counted = Counter(sequence)
    return tuple(counted[k] for k in ORDER_KINDS)


def _counts_are(counts, shape: tuple[int, ...], more_reversals: bool = False):
    """The counts are `shape`'s (with `more_reversals`, one recovering movement or more where it
    has one: lifecycle.RECOVERED)."""
    total = func.coalesce(counts.c["all"], 0)
    exact = [(k, n) for k, n in zip(ORDER_KINDS, shape, strict=True)
             if not (more_reversals and k == lifecycle.RECOVERED and n)]  # fmt: skip
    if len(exact) == len(ORDER_KINDS):
        return and_(total == sum(shape), *(func.coalesce(counts.c[k], 0) == n for k, n in exact))
    reversals = func.coalesce(counts.c[lifecycle.RECOVERED], 0)
    return and_(
        reversals >= 1,
        total == sum(n for _, n in exact) + reversals,
        *(func.coalesce(counts.c[k], 0) == n for k, n in exact),
    )


def _order_difference(session: Session, client_id: int, order_id: str) -> OrderDifference:
    """One order that failed the check, described with its movements in ledger order."""
    order = session.get(Order, (client_id, order_id))
    found = session.scalars(
        select(LedgerEntry.kind)
        .where(LedgerEntry.order_client_id == client_id, LedgerEntry.order_id == order_id)
        .order_by(LedgerEntry.id)
    ).all()
    registered = order.guest_id is not None
    facts = (order.status, registered and order.redeemed > 0, registered and order.accrual > 0,
             order.completed_at is not None)  # fmt: skip
    usual = legal_sequences(*facts)
    expected = usual + tuple(s for s in legal_sequences(*facts, settled=True) if s not in usual)
    client = session.get(ApiClient, client_id).name
    return OrderDifference(order_id, client, order.status, tuple(found), expected)
