"""The order lifecycle as data: the sequences reconcile accepts follow from checkout's changes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bonus_service.services import lifecycle

PAID = ("hold", "spend")
PAID_LATE = ("hold", "release", "hold", "spend")  # completed after its hold expired


def test_a_completed_order_is_paid_either_way_then_credited():
    assert lifecycle.sequences("completed", True, True, completed=True) == (
        (*PAID, "accrual"),
        (*PAID_LATE, "accrual"),
    )


def test_a_cancel_after_completion_refunds_and_reverses_or_once_settled_only_says_so():
    assert lifecycle.sequences("cancelled", True, True, completed=True) == (
        (*PAID, "accrual", "refund", "reversal"),
        (*PAID_LATE, "accrual", "refund", "reversal"),
    )
    assert lifecycle.sequences("cancelled", True, False, completed=True, settled=True) == (
        (*PAID, "reversal"),
        (*PAID_LATE, "reversal"),
    )


def test_a_cancel_before_completion_gives_back_the_hold_whichever_way_it_went():
    assert lifecycle.sequences("cancelled", True, True, completed=False) == (("hold", "release"),)
    assert lifecycle.sequences("expired", True, False, completed=False) == (("hold", "release"),)


def test_an_order_that_moves_no_bonuses_has_no_movements_in_any_status():
    for status in lifecycle.STATUSES:
        assert lifecycle.sequences(status, False, False, completed=status != "placed") == ((),)


@pytest.mark.parametrize(
    ("guest_id", "redeemed", "accrual", "before", "after", "made"),
    [
        (7, 5_000, 300, lifecycle.NEW, "placed", (("hold", 5_000),)),
        (7, 0, 300, lifecycle.NEW, "placed", ()),
        (7, 5_000, 300, "placed", "completed", (("spend", 5_000), ("accrual", 300))),
        (7, 5_000, 0, "expired", "completed", (("hold", 5_000), ("spend", 5_000))),
        (7, 0, 300, "completed", "cancelled", (("reversal", 300),)),
        (None, 0, 300, "placed", "completed", ()),  # an unregistered phone's order
    ],
)
def test_checkout_makes_the_movements_of_each_change_with_the_orders_figures(
    guest_id, redeemed, accrual, before, after, made
):
    order = SimpleNamespace(guest_id=guest_id, redeemed=redeemed, accrual=accrual)
    assert lifecycle.moves(order, before, after) == made


def test_a_settled_cancel_moves_nothing_but_says_why():
    order = SimpleNamespace(guest_id=7, redeemed=5_000, accrual=300)
    assert lifecycle.moves(order, "completed", "cancelled", settled=True) == (("reversal", 0),)


def test_a_change_the_lifecycle_does_not_have_is_refused():
    with pytest.raises(ValueError, match="from cancelled to placed"):
        lifecycle.kinds("cancelled", "placed", True, True)
