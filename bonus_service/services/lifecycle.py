"""The order lifecycle: which bonus movements each change of an order's status makes.

Written once, as data: checkout makes the movements of each change it applies, and reconcile
derives from the same table every sequence of movements an order in a status may have (the
paths to that status, their movements one after another).

A movement is of one of the order's two figures: `redeemed` (what it spends) or `accrual` (what
it earns), and is made only when the guest is registered and that figure is not zero. The
amount is the figure itself, except a cancel's reversal (as much of the accrual as the guest
still has) and a settled cancel's one zero reversal (see `SETTLED`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

NEW = None  # the status before the order was placed


@dataclass(frozen=True)
class Transition:
    """A change of status and the movements it makes, in ledger order: (kind, figure)."""

    before: str | None
    after: str
    movements: tuple[tuple[str, str], ...]


TRANSITIONS = (
    Transition(NEW, "placed", (("hold", "redeemed"),)),
    Transition("placed", "completed", (("spend", "redeemed"), ("accrual", "accrual"))),
    Transition("placed", "expired", (("release", "redeemed"),)),  # the hold timer
    # an expired order is paid after all: its bonuses are held again, if still there, and spent
    Transition(
        "expired",
        "completed",
        (("hold", "redeemed"), ("spend", "redeemed"), ("accrual", "accrual")),
    ),
    Transition("placed", "cancelled", (("release", "redeemed"),)),
    Transition("expired", "cancelled", ()),
    Transition("completed", "cancelled", (("refund", "redeemed"), ("reversal", "accrual"))),
)

# A completed order cancelled after a burn that emptied the account (checkout._settled) moves
# no bonuses: one zero reversal says why, if the order moved any.
SETTLED = Transition("completed", "cancelled", (("reversal", "either"),))

# A cancel that refunds a spend takes back, from it, what earlier cancels of other orders could
# not (checkout._recover_written_off): more movements of this kind on an order cancelled after
# completion that earned bonuses.
RECOVERED = "reversal"

STATUSES = tuple(dict.fromkeys(t.after for t in TRANSITIONS))
KINDS = tuple(dict.fromkeys(kind for t in TRANSITIONS for kind, _ in t.movements))


class OrderFigures(Protocol):
    guest_id: int | None
    redeemed: int
    accrual: int


_BY_CHANGE = {(t.before, t.after): t for t in TRANSITIONS}


def _transition(before: str | None, after: str, settled: bool) -> Transition:
    if settled and (before, after) == (SETTLED.before, SETTLED.after):
        return SETTLED
    try:
        return _BY_CHANGE[before, after]
    except KeyError:
        raise ValueError(f"an order does not go from {before} to {after}") from None


def _present(figure: str, redeems: bool, accrues: bool) -> bool:
    return {"redeemed": redeems, "accrual": accrues, "either": redeems or accrues}[figure]


def kinds(
    before: str | None, after: str, redeems: bool, accrues: bool, settled: bool = False
) -> tuple[str, ...]:
    """The movements' kinds of one change, for an order that spends (`redeems`) and earns
    (`accrues`) bonuses of a registered guest."""
    movements = _transition(before, after, settled).movements
    return tuple(kind for kind, figure in movements if _present(figure, redeems, accrues))


def moves(
    order: OrderFigures, before: str | None, after: str, settled: bool = False
) -> tuple[tuple[str, int], ...]:
    """The movements checkout makes for this change of the order: (kind, the figure's amount).

    The settled cancel's reversal is of 0 (it moves nothing, `SETTLED`)."""
    if order.guest_id is None:  # an unregistered phone's order moves no bonuses
        return ()
    redeems, accrues = order.redeemed > 0, order.accrual > 0
    amounts = {"redeemed": order.redeemed, "accrual": order.accrual, "either": 0}
    movements = _transition(before, after, settled).movements
    return tuple(
        (kind, amounts[figure]) for kind, figure in movements if _present(figure, redeems, accrues)
    )


def _paths(status: str | None) -> list[tuple[Transition, ...]]:
    """Every way from a new order to `status`, as its transitions (the table has no cycle)."""
    if status is NEW:
        return [()]
    return [
        (*path, transition)
        for transition in TRANSITIONS
        if transition.after == status
        for path in _paths(transition.before)
    ]


def sequences(
    status: str, redeems: bool, accrues: bool, completed: bool, settled: bool = False
) -> tuple[tuple[str, ...], ...]:
    """Every movement sequence checkout writes for an order now in `status`.

    `completed`: it was completed at some point, which tells apart the ways to a cancel (for a
    status whose ways all agree on it, like `completed`, it changes nothing); `settled`: a burn
    that emptied the account came between its completion and its cancel (`SETTLED`).
    """
    paths = _paths(status)
    through = [p for p in paths if any(t.after == "completed" for t in p) == completed]
    found = []
    for path in through or paths:
        sequence = tuple(
            kind
            for t in path
            for kind in kinds(t.before, t.after, redeems, accrues, settled and t.after == status)
        )
        if sequence not in found:
            found.append(sequence)
    return tuple(found)
