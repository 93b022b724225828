"""Scheduler fixtures: the app's database and program book, and guests with bonuses made
through the service layer (registration, then a ledger adjustment)."""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

import rules
from bonus_service import ledger
from bonus_service.db import Database
from bonus_service.models import Guest, LedgerEntry
from bonus_service.services import guests

MOSCOW = ZoneInfo("Europe/Moscow")
_phones = itertools.count(1)




@pytest.fixture
def make_guest(db) -> Callable[..., Guest]:
    """make_guest(registered_at, balance=kopecks, last_order_at=None, held=0) → the guest."""

    def make(
        registered_at: datetime,
        *,
        balance: int = 12_000,
        last_order_at: datetime | None = None,
        held: int = 0,
        phone: str | None = None,
    ) -> Guest:
        phone = phone or f"+7913{next(_phones):07d}"
        with db.unit_of_work() as session:
            guest = guests.register(session, phone, registered_at, by="test")
            session.flush()
            if balance:
                ledger.move(session, guest.id, "adjustment", balance, actor="test",
                            reason="test balance", now=registered_at)  # fmt: skip
            if held:
                ledger.move(session, guest.id, "hold", held, actor="test", reason="test hold",
                            now=registered_at)  # fmt: skip
            if last_order_at is not None:
                session.execute(
                    update(Guest).where(Guest.id == guest.id).values(last_order_at=last_order_at)
                )
            session.commit()
        return fetch(db, guest.id)

    return make


def fetch(db: Database, guest_id: int) -> Guest:
    with db.unit_of_work(write=False) as session:
        return session.get(Guest, guest_id)


def expiry_entries(db: Database, guest_id: int | None = None) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.kind == "expiry").order_by(LedgerEntry.id)
    if guest_id is not None:
        query = query.where(LedgerEntry.guest_id == guest_id)
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(query))


def assert_ledger_matches_balances(db: Database) -> None:
    """balance = Σ amount and held = Σ held_delta for every guest, and every entry's
    balance_after is the running sum up to it."""
    with db.unit_of_work(write=False) as session:
        balances = {g.id: (g.balance, g.held) for g in session.scalars(select(Guest))}
        entries = session.execute(
            select(LedgerEntry.guest_id, LedgerEntry.amount, LedgerEntry.held_delta,
                   LedgerEntry.balance_after).order_by(LedgerEntry.id)
        ).all()  # fmt: skip
    running: dict[int, list[int]] = {guest_id: [0, 0] for guest_id in balances}
    for guest_id, amount, held_delta, balance_after in entries:
        running[guest_id][0] += amount
        running[guest_id][1] += held_delta
        assert running[guest_id][0] == balance_after, f"guest {guest_id}: balance_after"
    for guest_id, (balance, held) in balances.items():
        assert (balance, held) == tuple(running[guest_id]), f"guest {guest_id}"


def run_in_threads(count: int, target) -> list:
    results, errors = [None] * count, []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = target()
        except BaseException as error:  # report it to the test, not to the thread's void
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def a_book(program: rules.Program, **expiry) -> rules.ProgramBook:
    data = copy.deepcopy(program.data)
    data.update(timezone=expiry.pop("timezone", data["timezone"]))
    data["expiry"] = {**data["expiry"], **expiry}
    return rules.ProgramBook([rules.load_program(data)])
