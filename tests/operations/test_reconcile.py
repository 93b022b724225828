"""`bonus reconcile`: every balance against its ledger, every order against its movements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bonus_service import ledger
from bonus_service.clock import utcnow
from bonus_service.models import ApiClient, Guest, LedgerEntry, Order
from bonus_service.services.checkout import release_stale_holds
from bonus_service.services.reconcile import legal_sequences, reconcile
from tests.support.phones import new_phone
from tests.support.shop import delivery, pickup


def placed(shop, phone, order, redeem="0", token=None) -> str:
    response = shop.place(phone, order, redeem, token)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def done(response) -> None:
    assert response.status_code == 200, response.get_json()


def site_id(db) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalar(select(ApiClient.id).where(ApiClient.name == "site"))


@pytest.fixture
def orders(shop, db) -> dict[str, str]:
    """One guest (1,000 bonuses) with an order down every path checkout has; name → order id."""
    phone, token = shop.guest("1000.00")
    ids = {"phone": phone}
    for name in ("expired", "expired_then_completed", "expired_then_cancelled"):
        ids[name] = placed(shop, phone, pickup("100.00"), "10.00", token)
    with db.unit_of_work() as session:
        assert release_stale_holds(session, utcnow() + timedelta(hours=25)) == 3
        session.commit()
    done(shop.complete(ids["expired_then_completed"]))
    done(shop.cancel(ids["expired_then_cancelled"]))
    ids["placed"] = placed(shop, phone, pickup("1000.00"), "100.00", token)
    ids["placed_without_bonuses"] = placed(shop, phone, delivery("1000.00"))
    ids["completed"] = placed(shop, phone, pickup("1000.00"), "100.00", token)
    done(shop.complete(ids["completed"]))
    ids["completed_without_bonuses"] = placed(shop, phone, delivery("1000.00"))
    done(shop.complete(ids["completed_without_bonuses"]))
    ids["cancelled_while_placed"] = placed(shop, phone, pickup("500.00"), "50.00", token)
    done(shop.cancel(ids["cancelled_while_placed"]))
    ids["cancelled_after_completion"] = placed(shop, phone, pickup("800.00"), "80.00", token)
    done(shop.complete(ids["cancelled_after_completion"]))
    done(shop.cancel(ids["cancelled_after_completion"]))
    ids["unregistered"] = placed(shop, new_phone(), pickup("700.00"))
    done(shop.complete(ids["unregistered"]))
    return ids


def guest_row(db, phone: str) -> Guest:
    with db.unit_of_work(write=False) as session:
        return session.scalar(select(Guest).where(Guest.phone == phone))


def change(db, statement) -> None:
    """A write behind the service's back (the ledger is append-only, so its surroundings)."""
    with db.unit_of_work() as session:
        session.execute(statement)
        session.commit()


def test_a_shop_that_went_down_every_order_path_reconciles_cleanly(orders, bonus):
    result = bonus("reconcile")

    assert result.exit_code == 0, result.output
    # the adjustment, 3 × (hold, release), then hold spend accrual · hold · hold spend accrual ·
    # accrual · hold release · hold spend accrual refund reversal
    assert result.output.splitlines() == [
        "checked 1 guests, 22 ledger entries, 10 orders: no differences"
    ]


def test_the_hold_expired_path_is_one_of_the_legal_sequences_of_a_completed_order(orders, db):
    with db.unit_of_work(write=False) as session:
        kinds = session.scalars(
            select(LedgerEntry.kind)
            .where(LedgerEntry.order_id == orders["expired_then_completed"])
            .order_by(LedgerEntry.id)
        ).all()

    assert tuple(kinds) in legal_sequences("completed", True, True, completed=True)
    assert tuple(kinds) == ("hold", "release", "hold", "spend", "accrual")


def test_a_balance_changed_behind_the_ledgers_back_is_reported_and_the_exit_code_is_1(
    orders, bonus, db
):
    guest = guest_row(db, orders["phone"])
    change(db, update(Guest).where(Guest.id == guest.id).values(balance=Guest.balance + 5000))

    result = bonus("reconcile")

    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"balance  guest {guest.id} {guest.phone}: balance {(guest.balance + 5000) / 100:.2f} "
        f"vs ledger {guest.balance / 100:.2f}, held 100.00 vs ledger 100.00"
    )
    assert result.output.splitlines()[-1].endswith(": 1 difference")


def test_held_bonuses_changed_behind_the_ledgers_back_are_reported(orders, bonus, db):
    guest = guest_row(db, orders["phone"])
    change(db, update(Guest).where(Guest.id == guest.id).values(held=0))

    result = bonus("reconcile")

    assert result.exit_code == 1
    assert "held 0.00 vs ledger 100.00" in result.output.splitlines()[0]


def test_an_order_whose_status_disagrees_with_its_movements_is_reported(orders, bonus, db):
    change(db, update(Order).where(Order.id == orders["completed"]).values(status="placed"))

    result = bonus("reconcile")

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"order    {orders['completed']} of site (placed): movements hold spend accrual; "
        "expected hold",
        "checked 1 guests, 22 ledger entries, 10 orders: 1 difference",
    ]


def test_a_second_release_of_one_hold_is_reported_though_the_balances_still_add_up(
    orders, bonus, db
):
    guest = guest_row(db, orders["phone"])
    with db.unit_of_work() as session:
        ledger.move(session, guest.id, "release", 10_000, actor="bug", reason="double release",
                    now=utcnow(), order_client_id=site_id(db),
                    order_id=orders["placed"])  # fmt: skip
        session.commit()

    result = bonus("reconcile")

    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"order    {orders['placed']} of site (placed): movements hold release; expected hold"
    )


def test_a_movement_that_does_not_match_its_orders_figures_is_reported(orders, bonus, db):
    oid = orders["completed_without_bonuses"]
    change(db, update(Order).where(Order.id == oid).values(accrual=Order.accrual + 100))

    result = bonus("reconcile")

    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if line.startswith("entry")]
    assert line.endswith(
        f"order {oid}): moves 30.00 (held 0.00) for an order that redeemed 0.00 and accrued 31.00"
    )


def test_an_entry_whose_balance_after_is_not_the_running_sum_is_reported(orders, bonus, db):
    guest = guest_row(db, orders["phone"])
    with db.unit_of_work() as session:
        session.add(LedgerEntry(guest_id=guest.id, kind="adjustment", amount=0, held_delta=0,
                                balance_after=1, actor="bug", reason="wrong figure",
                                created_at=utcnow()))  # fmt: skip
        session.commit()

    result = bonus("reconcile")

    assert result.exit_code == 1
    assert result.output.splitlines()[0].endswith(
        f"(adjustment, guest {guest.id}): balance_after 0.01, running sum {guest.balance / 100:.2f}"
    )


def test_the_listing_stops_at_the_limit_and_says_so(shop, bonus, db):
    phones = [shop.guest("10.00")[0], shop.guest("20.00")[0]]
    change(db, update(Guest).where(Guest.phone.in_(phones)).values(balance=Guest.balance + 1))

    result = bonus("reconcile", "--limit", "1")

    assert result.exit_code == 1
    assert len([line for line in result.output.splitlines() if line.startswith("balance")]) == 1
    assert result.output.splitlines()[-1].endswith("(at most 1 listed per check)")


def test_reconcile_as_a_function_returns_what_it_checked_and_found(orders, db):
    report = reconcile(db)

    assert (report.guests, report.orders, report.differences) == (1, 10, 0)


def test_an_unreachable_database_is_one_line_and_exit_status_3(tmp_path):
    """Not a page of traceback, and not 1, which says the books differ."""
    from bonus_service.app import create_app

    app = create_app({"database_url": f"sqlite:///{tmp_path}/no/such/dir/bonus.db",
                      "secret_key": "s" * 16, "scheduler_enabled": False})  # fmt: skip
    for command in (["reconcile"], ["init-db"], ["expire", "--dry-run"]):
        result = app.test_cli_runner().invoke(args=["bonus", *command])
        assert result.exit_code == 3, (command, result.output)
        assert result.output.startswith("Error: the database failed: "), result.output
        assert "Traceback" not in result.output and len(result.output.splitlines()) == 1
