"""The ledger: every bonus movement is one conditional write to the balance plus one entry.

A guest row keeps `balance` (what the guest owns) and `held` (what open orders hold). Each
movement changes them with a single UPDATE whose WHERE clause is the invariant itself
(held ≥ 0, balance ≥ held), so two concurrent movements can never overdraw: the loser's UPDATE
matches no row. The same statement works on SQLite and PostgreSQL, and the CHECK constraints
stand behind it. Nothing else writes a balance or an entry: the nightly burn of idle
balances, set-based, is `ledger.burn`, and tests/operations/test_money_owner.py holds the rest
of the code to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Integer, bindparam, insert, text, update
from sqlalchemy.orm import Session

from bonus_service.db import run
from bonus_service.models import Guest, LedgerEntry

# kind → (sign of the balance change, sign of the held change) for a positive amount
KINDS = {
    "accrual": (1, 0),
    "hold": (0, 1),
    "spend": (-1, -1),
    "release": (0, -1),
    "refund": (1, 0),
    "reversal": (-1, 0),
    "adjustment": (1, 0),  # signed by its amount
    "expiry": (-1, 0),
}



GUESTS = Guest.__table__
ENTRIES = LedgerEntry.__table__


def _conditional_update(*, touch_last_order: bool):
    """The movement's UPDATE, built once: the invariant is the WHERE clause.

    For a movement (delta, held_delta) the invariant after it, held + held_delta ≥ 0 and
    balance + delta ≥ held + held_delta, reads held ≥ :min_held and balance − held ≥ :min_free;
    for several movements in one statement, the bounds are the largest over every prefix, so
    no intermediate state could have overdrawn either.
    """
    values = {
        "balance": GUESTS.c.balance + bindparam("delta", type_=BigInteger),
        "held": GUESTS.c.held + bindparam("held_delta", type_=BigInteger),
    }
    if touch_last_order:
        values["last_order_at"] = bindparam("last_order_at", type_=GUESTS.c.last_order_at.type)
    return (
        update(GUESTS)
        .where(
            GUESTS.c.id == bindparam("guest_id", type_=Integer),
            GUESTS.c.held >= bindparam("min_held", type_=BigInteger),
            GUESTS.c.balance - GUESTS.c.held >= bindparam("min_free", type_=BigInteger),
        )
        .values(**values)
        .returning(GUESTS.c.balance, GUESTS.c.held)
    )


# Prebuilt Core statements on the tables: building the expression on every movement, or going
# through the ORM's entity machinery, cost more CPU than running the statement.
_MOVE = _conditional_update(touch_last_order=False)
_MOVE_AND_TOUCH = _conditional_update(touch_last_order=True)
_ENTRY = insert(ENTRIES).returning(ENTRIES.c.id)
_ENTRIES = insert(ENTRIES).returning(ENTRIES.c.id, sort_by_parameter_order=True)


@dataclass(frozen=True)
class Movement:
    """What one ledger write did: the entry and the guest's figures after it."""

    entry_id: int
    entry_values: dict  # the entry's columns but its id, as written
    balance: int
    held: int

    @property
    def entry(self) -> LedgerEntry:
        """The entry as a detached object, built when asked: most callers want the figures."""
        return LedgerEntry(id=self.entry_id, **self.entry_values)

    @property
    def available(self) -> int:
        return self.balance - self.held


@dataclass(frozen=True)
class Step:
    """One movement of several applied together by `move_many`."""

    kind: str
    amount: int
    reason: str


def _deltas(kind: str, amount: int) -> tuple[int, int]:
    balance_sign, held_sign = KINDS[kind]
    if kind == "adjustment":
        return amount, 0
    return balance_sign * amount, held_sign * abs(amount)


def move(
    session: Session,
    guest_id: int,
    kind: str,
    amount: int,
    *,
    actor: str,
    reason: str,
    now: datetime,
    order_client_id: int | None = None,
    order_id: str | None = None,
    rules_version: str | None = None,
    last_order_at: datetime | None = None,
) -> Movement | None:
    """Apply one movement of `amount` kopecks; None (and nothing written) if it would overdraw.

    An order's movement names it by (`order_client_id`, `order_id`): ids are unique per client.
    `last_order_at` also records a completed order in the same statement (saves a round trip).
    """
    moved = move_many(
        session, guest_id, [Step(kind, amount, reason)], actor=actor, now=now,
        order_client_id=order_client_id, order_id=order_id, rules_version=rules_version,
        last_order_at=last_order_at,
    )  # fmt: skip
    return moved[0] if moved else None


def move_many(
    session: Session,
    guest_id: int,
    steps: list[Step],
    *,
    actor: str,
    now: datetime,
    order_client_id: int | None = None,
    order_id: str | None = None,
    rules_version: str | None = None,
    last_order_at: datetime | None = None,
) -> list[Movement] | None:
    """Apply several movements of one guest as one UPDATE and one INSERT of their entries.

    All or nothing: None (and nothing written) if any step on the way would overdraw. Each
    entry keeps its own kind, amount, reason and the balance after it.
    """
    deltas = [_deltas(step.kind, step.amount) for step in steps]
    params = _bounds(guest_id, deltas)
    if last_order_at is not None:
        params["last_order_at"] = last_order_at
    common = {"order_client_id": order_client_id, "order_id": order_id,
              "rules_version": rules_version, "actor": actor, "created_at": now}  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":  # the entries went in with the UPDATE
        found = _move_in_one_statement(session, steps, deltas, params, common)
        if found is None:
            return None
        balance, held, ids = found
    else:
        found = run(session, _MOVE if last_order_at is None else _MOVE_AND_TOUCH, params)
        if not found:
            return None
        (balance, held), ids = found[0], None
    rows = _entry_rows(guest_id, steps, deltas, balance - params["delta"], common)
    if ids is None:  # SQLite: the entries' INSERT, one statement for all of them
        if len(rows) == 1:
            ids = [run(session, _ENTRY, rows[0])[0][0]]
        else:  # a multi-row INSERT … RETURNING (SQLAlchemy's "insertmanyvalues")
            ids = session.execute(_ENTRIES, rows).scalars().all()
    # detached copies for the caller to show; the rows themselves are never changed again
    movements, held = [], held - params["held_delta"]
    for entry_id, values in zip(ids, rows, strict=True):
        held += values["held_delta"]
        movements.append(Movement(entry_id, values, values["balance_after"], held))
    return movements


def _entry_rows(guest_id, steps, deltas, balance_before: int, common: dict) -> list[dict]:
    """The entries of the steps, each with the balance after it."""
    rows, balance = [], balance_before
    for step, (delta, held_delta) in zip(steps, deltas, strict=True):
        balance += delta
        rows.append({
            "guest_id": guest_id, "kind": step.kind, "amount": delta, "held_delta": held_delta,
            "balance_after": balance, "reason": step.reason, **common,
        })  # fmt: skip
    return rows


def _bounds(guest_id: int, deltas: list[tuple[int, int]]) -> dict:
    """The UPDATE's parameters: the summed changes and the WHERE bounds over every prefix."""
    total = held_total = 0
    min_held = min_free = None
    for delta, held_delta in deltas:
        total, held_total = total + delta, held_total + held_delta
        min_held = -held_total if min_held is None else max(min_held, -held_total)
        min_free = held_total - total if min_free is None else max(min_free, held_total - total)
    return {
        "guest_id": guest_id, "delta": total, "held_delta": held_total,
        "min_held": min_held, "min_free": min_free,
    }  # fmt: skip


def _pg_statement(steps: int, touch_last_order: bool):
    """PostgreSQL: the conditional UPDATE and the entries' INSERT as one statement (a data-
    modifying CTE), so a movement costs one round trip. If the UPDATE matches no row, nothing
    is inserted and no row comes back."""
    rows = ", ".join(
        f"(CAST(:kind_{i} AS VARCHAR), CAST(:amount_{i} AS BIGINT), CAST(:held_delta_{i} AS "
        f"BIGINT), CAST(:through_{i} AS BIGINT), CAST(:reason_{i} AS TEXT), {i})"
        for i in range(steps)
    )
    touch = ", last_order_at = :last_order_at" if touch_last_order else ""
    # only placeholders and the fixed column list are formatted in: no value reaches the text
    statement = text(f"""
        WITH moved AS (
            UPDATE guests
               SET balance = balance + :delta, held = held + :held_delta{touch}
             WHERE id = :guest_id AND held >= :min_held AND balance - held >= :min_free
            RETURNING balance, held
        ), entries AS (
            INSERT INTO ledger_entries (guest_id, kind, amount, held_delta, balance_after,
                                        order_client_id, order_id, rules_version, actor,
                                        reason, created_at)
            SELECT :guest_id, s.kind, s.amount, s.held_delta, moved.balance - :delta + s.through,
                   CAST(:order_client_id AS INTEGER), :order_id, :rules_version, :actor,
                   s.reason, :created_at
              FROM moved, (VALUES {rows}) AS s (kind, amount, held_delta, through, reason, n)
             ORDER BY s.n
            RETURNING id
        )
        SELECT moved.balance, moved.held, (SELECT array_agg(id ORDER BY id) FROM entries) AS ids
          FROM moved
    """)  # noqa: S608
    dates = [bindparam("created_at", type_=ENTRIES.c.created_at.type)]
    if touch_last_order:
        dates.append(bindparam("last_order_at", type_=GUESTS.c.last_order_at.type))
    return statement.bindparams(*dates)


_PG_STATEMENTS = {
    (steps, touch): _pg_statement(steps, touch) for steps in (1, 2, 3) for touch in (False, True)
}


def _move_in_one_statement(session, steps, deltas, params, common):
    """PostgreSQL: → (balance, held, entry ids) after the movement, or None if it would overdraw."""
    params = {**params, **common}
    through = 0
    for i, (step, (delta, held_delta)) in enumerate(zip(steps, deltas, strict=True)):
        through += delta
        params.update({
            f"kind_{i}": step.kind, f"amount_{i}": delta, f"held_delta_{i}": held_delta,
            f"through_{i}": through, f"reason_{i}": step.reason,
        })  # fmt: skip
    key = (len(steps), "last_order_at" in params)
    statement = _PG_STATEMENTS.get(key)
    if statement is None:
        statement = _pg_statement(*key)
    found = run(session, statement, params)
    return found[0] if found else None
