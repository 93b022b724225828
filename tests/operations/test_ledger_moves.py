"""ledger.move_many: several movements of one guest as one conditional write, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, func, select, update

from bonus_service import db as database
from bonus_service import ledger
from bonus_service.models import Guest, LedgerEntry, Order
from tests.support.ledger_checks import assert_ledger_invariants

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def entries(db, guest_id: int) -> list[tuple[str, int, int, int]]:
    with db.unit_of_work(write=False) as session:
        rows = session.execute(
            select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.held_delta,
                   LedgerEntry.balance_after)
            .where(LedgerEntry.guest_id == guest_id)
            .order_by(LedgerEntry.id)
        )  # fmt: skip
        return [tuple(row) for row in rows]


def test_steps_move_as_one_write_with_an_entry_each(make_guest, db):
    guest_id = make_guest(NOW, balance=10_000, held=3_000).id
    with db.unit_of_work() as session:
        moved = ledger.move_many(
            session, guest_id,
            [ledger.Step("spend", 3_000, "spent"), ledger.Step("accrual", 500, "earned")],
            actor="test", now=NOW, last_order_at=NOW,
        )  # fmt: skip
        session.commit()
    assert [(m.entry.kind, m.balance, m.held) for m in moved] == [
        ("spend", 7_000, 0),
        ("accrual", 7_500, 0),
    ]
    assert moved[0].entry.id < moved[1].entry.id
    assert entries(db, guest_id)[-2:] == [
        ("spend", -3_000, -3_000, 7_000),
        ("accrual", 500, 0, 7_500),
    ]
    with db.unit_of_work(write=False) as session:
        guest = session.get(Guest, guest_id)
        assert (guest.balance, guest.held, guest.last_order_at) == (7_500, 0, NOW)
    assert_ledger_invariants(db)


def test_a_step_that_would_overdraw_on_the_way_refuses_them_all(make_guest, db):
    """−150 then +100 ends at 50 from 100, but the first step alone goes below zero."""
    guest_id = make_guest(NOW, balance=10_000).id
    before = entries(db, guest_id)
    with db.unit_of_work() as session:
        moved = ledger.move_many(
            session, guest_id,
            [ledger.Step("adjustment", -15_000, "take"), ledger.Step("adjustment", 10_000, "give")],
            actor="test", now=NOW,
        )  # fmt: skip
        session.commit()
    assert moved is None
    assert entries(db, guest_id) == before
    with db.unit_of_work(write=False) as session:
        assert session.get(Guest, guest_id).balance == 10_000


def test_a_step_may_not_free_more_than_is_held_even_if_a_later_one_holds_again(make_guest, db):
    guest_id = make_guest(NOW, balance=10_000, held=1_000).id
    with db.unit_of_work() as session:
        moved = ledger.move_many(
            session, guest_id,
            [ledger.Step("release", 2_000, "too much"), ledger.Step("hold", 2_000, "again")],
            actor="test", now=NOW,
        )  # fmt: skip
    assert moved is None


def test_run_refuses_a_statement_whose_columns_need_converting(app, db):
    """Raw rows would hand out naive or string datetimes: refused when first prepared."""
    with db.unit_of_work(write=False) as session, pytest.raises(TypeError, match="conversion"):
        database.run(session, select(Order.placed_at), {})


def test_run_converts_parameters_by_their_types(make_guest, db):
    guest_id = make_guest(NOW, balance=100).id
    statement = select(func.count()).select_from(Guest).where(
        Guest.id == guest_id, Guest.registered_at == NOW
    )
    with db.unit_of_work(write=False) as session:
        assert database.run(session, statement, {}) == [(1,)]


def test_run_converts_named_parameters_by_their_bindparams_types(make_guest, db):
    guest_id = make_guest(NOW, balance=100).id
    statement = select(func.count()).select_from(Guest).where(
        Guest.id == bindparam("guest_id"),
        Guest.registered_at == bindparam("at", type_=Guest.registered_at.type),
    )
    with db.unit_of_work(write=False) as session:
        for _ in range(2):  # the second call takes the path remembered by the first
            assert database.run(session, statement, {"guest_id": guest_id, "at": NOW}) == [(1,)]
        with pytest.raises(ValueError, match="naive"):  # UTCDateTime refuses a naive time
            database.run(session, statement, {"guest_id": guest_id, "at": NOW.replace(tzinfo=None)})


def test_run_returns_no_rows_of_a_statement_without_any(make_guest, db):
    guest_id = make_guest(NOW, balance=100).id
    later = datetime(2026, 3, 2, 12, tzinfo=UTC)
    # a literal of a converting type: run hands this one to Connection.execute
    touch = update(Guest).where(Guest.id == guest_id).values(last_order_at=later)
    with db.unit_of_work() as session:
        assert database.run(session, touch, {}) == []
        session.commit()
    with db.unit_of_work(write=False) as session:
        assert session.get(Guest, guest_id).last_order_at == later
