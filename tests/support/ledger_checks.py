"""What must hold of the ledger in any state: the service's own reconciliation finds nothing,
and what reconcile does not look at, read straight from the tables."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from bonus_service.db import Database
from bonus_service.models import Guest, LedgerEntry, Order
from bonus_service.services.reconcile import reconcile

# an order's hold is open while it is one of these; every other status has resolved it
HOLDING = {"placed"}


def figures(db: Database) -> dict[str, tuple[int, int]]:
    """phone → (balance, held) as stored on the guest row."""
    with db.unit_of_work(write=False) as session:
        return {g.phone: (g.balance, g.held) for g in session.scalars(select(Guest))}


def assert_ledger_reconciles(db: Database) -> None:
    """Every balance and held sum is its ledger's, every balance_after a running sum, every
    order's movements legal for its status (the service's `reconcile` finds nothing), and
    0 ≤ held ≤ balance for every guest."""
    report = reconcile(db)
    assert report.differences == 0, "\n".join(report.lines())
    with db.unit_of_work(write=False) as session:
        for guest in session.scalars(select(Guest)):
            assert 0 <= guest.held <= guest.balance, guest.phone


def assert_ledger_invariants(db: Database) -> None:
    """The ledger reconciles (above); besides, each hold is resolved at most once and each
    order's movements are all there for its status, none half-written."""
    assert_ledger_reconciles(db)
    with db.unit_of_work(write=False) as session:
        entries = list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))
        orders = {o.id: o for o in session.scalars(select(Order))}
    _holds_resolved_once(entries, orders)
    _orders_moved_whole(entries, orders)


def expiry_entries(db: Database, guest_id: int | None = None) -> list[LedgerEntry]:
    """The nightly burns in ledger order, of one guest or of all."""
    query = select(LedgerEntry).where(LedgerEntry.kind == "expiry").order_by(LedgerEntry.id)
    if guest_id is not None:
        query = query.where(LedgerEntry.guest_id == guest_id)
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(query))


def _holds_resolved_once(entries: list[LedgerEntry], orders: dict[str, Order]) -> None:
    """Per order: hold, then at most one spend or release, before any next hold."""
    open_hold: dict[str, bool] = defaultdict(bool)
    for entry in entries:
        if entry.order_id is None or entry.kind not in ("hold", "spend", "release"):
            continue
        if entry.kind == "hold":
            assert not open_hold[entry.order_id], f"{entry.order_id}: a second hold while open"
        else:
            assert open_hold[entry.order_id], f"{entry.order_id}: {entry.kind} without a hold"
        open_hold[entry.order_id] = entry.kind == "hold"
    for order_id, order in orders.items():
        holding = order.status in HOLDING and order.redeemed > 0 and order.guest_id is not None
        assert open_hold[order_id] == holding, f"{order_id} is {order.status}"


def _orders_moved_whole(entries: list[LedgerEntry], orders: dict[str, Order]) -> None:
    """An order's entries add up to exactly what its status means; a guestless one has none."""
    moved: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    kinds: dict[str, set[str]] = defaultdict(set)
    completed_at: dict[str, int] = {}  # the id of the order's last spend or accrual
    undone_at: dict[str, int] = {}  # the id of its first reversal
    emptying_burns = defaultdict(list)  # guest → ids of the expiries that left nothing
    for entry in entries:
        if entry.kind == "expiry" and entry.balance_after == 0:
            emptying_burns[entry.guest_id].append(entry.id)
        if entry.order_id is not None:
            moved[entry.order_id][0] += entry.amount
            moved[entry.order_id][1] += entry.held_delta
            kinds[entry.order_id].add(entry.kind)
            if entry.kind in ("spend", "accrual"):
                completed_at[entry.order_id] = entry.id
            if entry.kind == "reversal":
                undone_at.setdefault(entry.order_id, entry.id)
    for order_id, order in orders.items():
        amount, held = moved[order_id]
        if order.guest_id is None:
            assert (amount, held) == (0, 0), order_id
        elif order.status == "placed":
            assert (amount, held) == (0, order.redeemed), (order_id, amount, held)
        elif order.status == "completed":
            assert (amount, held) == (order.accrual - order.redeemed, 0), (order_id, amount)
        elif order.status == "cancelled":
            # a completed one gave back the spend and took ≤ its accrual; one that a burn
            # after its completion settled gave nothing back (no refund) and took nothing
            if "spend" in kinds[order_id] and "refund" not in kinds[order_id]:
                assert any(completed_at[order_id] < burn < undone_at[order_id]
                           for burn in emptying_burns[order.guest_id]), order_id  # fmt: skip
                amount += order.redeemed
            assert held == 0 and 0 <= amount <= order.accrual, (order_id, amount, held)
        else:
            assert (order.status, amount, held) == ("expired", 0, 0), order_id
