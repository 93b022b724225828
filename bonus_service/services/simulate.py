"""What a candidate program would have done to past orders, beside what really happened.

Replayed: the orders placed in [since, until) that were completed (their accrual was credited
and their bonuses spent; cancelled, expired and open orders left nothing behind). Each order is
re-read from its stored payload with rules.parse_order and evaluated at its own placed_at, with
the zone minimums as they are now (their history is not kept).

The guest's available balance at the time is not recorded, so:
- `redeemable` is the program's own cap, Σ redeem_max with the balance never binding, computed
  for the version really in force too, so the two columns compare programs, not guests;
- the guest is assumed to have asked for the same bonuses as really spent: under the candidate
  they spend min(really redeemed, candidate's redeem_max) — they had at least that much, since
  they spent it — and earn the candidate's accrual on that.
The liability change is what guests would own in addition: Δ accrued − Δ redeemed.
Orders are streamed (yield_per) and only the `top` that changed most are kept.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from bonus_service.fields import kopecks, money
from bonus_service.models import Order, Zone
from bonus_service.services.reconcile import snapshot

BATCH_SIZE = 1000
# availability never binds the cap: the largest amount an order may carry
UNLIMITED = Decimal("10000000.00")


@dataclass
class Figures:
    """Kopecks over the replayed orders: accrued, redeemed, and the redemption cap's total."""

    accrued: int = 0
    redeemed: int = 0
    redeemable: int = 0

    @property
    def liability(self) -> int:
        return self.accrued - self.redeemed


@dataclass(frozen=True)
class Replay:
    """One order, as it happened and as the candidate would have had it (kopecks)."""

    order_id: str
    channel: str
    total: int
    actual: Figures
    candidate: Figures

    @property
    def liability_change(self) -> int:
        return self.candidate.liability - self.actual.liability

    @property
    def changed(self) -> bool:
        return (self.actual.accrued, self.actual.redeemed) != (
            self.candidate.accrued,
            self.candidate.redeemed,
        )

    def line(self) -> str:
        a, c = self.actual, self.candidate
        return (
            f"  {self.order_id}  {self.channel} {money(self.total)}: accrual {money(a.accrued)} → "
            f"{money(c.accrued)}, redeemed {money(a.redeemed)} → {money(c.redeemed)}, "
            f"liability {_signed(self.liability_change)}"
        )


@dataclass
class Simulation:
    """The candidate beside reality over one period."""

    candidate_version: str
    since: datetime
    until: datetime
    orders: int = 0
    changed: int = 0
    # orders the candidate cannot evaluate (more promo codes than it allows, a zone gone from
    # the zones table); left out of both columns so that they compare the same orders
    refused: int = 0
    actual: Figures = field(default_factory=Figures)
    candidate: Figures = field(default_factory=Figures)
    top: list[Replay] = field(default_factory=list)

    @property
    def liability_change(self) -> int:
        return self.candidate.liability - self.actual.liability

    def add(self, replay: Replay) -> None:
        self.orders += 1
        self.changed += replay.changed
        for total, one in ((self.actual, replay.actual), (self.candidate, replay.candidate)):
            total.accrued += one.accrued
            total.redeemed += one.redeemed
            total.redeemable += one.redeemable

    def lines(self) -> list[str]:
        a, c = self.actual, self.candidate
        rows = [("accrued", a.accrued, c.accrued), ("redeemed", a.redeemed, c.redeemed),
                ("redeemable (Σ cap)", a.redeemable, c.redeemable)]  # fmt: skip
        return [
            f"candidate {self.candidate_version} on completed orders placed "
            f"{self.since.isoformat()} .. {self.until.isoformat()}",
            f"orders replayed: {self.orders}, changed: {self.changed}, "
            f"refused by the candidate: {self.refused}",
            f"  {'':<20} {'actual':>14} {'candidate':>14} {'difference':>14}",
            *(f"  {n:<20} {money(x):>14} {money(y):>14} {_signed(y - x):>14}" for n, x, y in rows),
            f"liability change: {_signed(self.liability_change)} bonuses",
            *(["orders that changed most:"] if self.top else []),
            *(r.line() for r in self.top),
        ]


def _signed(kopecks_: int) -> str:
    return f"{'+' if kopecks_ > 0 else ''}{money(kopecks_)}"


def simulate(
    session: Session,
    book: rules.ProgramBook,
    candidate: rules.Program,
    since: datetime,
    until: datetime,
    *,
    top: int = 10,
    batch_size: int = BATCH_SIZE,
) -> Simulation:
    """Replay the completed orders placed in [since, until) under `candidate`.

    `session` must be fresh: it becomes one read-only snapshot, which the streaming cursor needs.
    """
    snapshot(session)
    result = Simulation(candidate.version, since, until)
    zones = {code: money(m) for code, m in session.execute(select(Zone.code, Zone.min_order))}

    def replays() -> Iterator[Replay]:
        for row in _completed_orders(session, since, until, batch_size):
            replay = _replay(row, book, candidate, zones)
            if replay is None:
                result.refused += 1
                continue
            result.add(replay)
            if replay.changed:
                yield replay

    changed = replays()
    # nlargest keeps `top` items at a time; ties keep the earlier order first
    result.top = heapq.nlargest(top, changed, key=_change_size)
    for _ in changed:  # with top=0 nlargest reads nothing: replay the rest for the figures
        pass
    return result


def _change_size(replay: Replay) -> tuple[int, int]:
    return abs(replay.liability_change), abs(replay.candidate.accrued - replay.actual.accrued)


class MissingVersion(LookupError):
    """An order's own rules version is gone from the book: its replay cannot be compared."""


def _completed_orders(session: Session, since: datetime, until: datetime, batch_size: int):
    query = (
        select(
            Order.id,
            Order.guest_id,
            Order.channel,
            Order.payload,
            Order.total,
            Order.redeemed,
            Order.accrual,
            Order.rules_version,
            Order.placed_at,
        )
        .where(Order.status == "completed", Order.placed_at >= since, Order.placed_at < until)
        .order_by(Order.placed_at, Order.id)
        .execution_options(yield_per=batch_size)
    )
    return session.execute(query)


def _replay(row, book: rules.ProgramBook, candidate: rules.Program, zones) -> Replay | None:
    """The order under its own version and under the candidate; None if the candidate refuses."""
    order = rules.parse_order(row.payload)
    guest = rules.GuestState(registered=row.guest_id is not None, available=UNLIMITED)
    zone_min = zones.get(order.zone) if order.zone else None
    asked = money(row.redeemed)
    try:
        placed_under = book.get(row.rules_version)
    except KeyError:
        raise MissingVersion(
            f"order {row.id} was placed under rules version {row.rules_version!r}, which "
            "BONUS_RULES_DIR does not hold: restore its file (a published version stays)"
        ) from None
    try:
        actual_cap = _decide(placed_under, order, guest, zone_min, row.placed_at)
        cap = _decide(candidate, order, guest, zone_min, row.placed_at).redeem_max
        redeem = min(asked, cap)
        decision = _decide(candidate, order, guest, zone_min, row.placed_at, redeem)
    except (rules.OrderError, ValueError):
        return None
    return Replay(
        row.id,
        row.channel,
        row.total,
        Figures(row.accrual, row.redeemed, kopecks(actual_cap.redeem_max)),
        Figures(kopecks(decision.accrual), kopecks(redeem), kopecks(cap)),
    )


def _decide(program, order, guest, zone_min, at, redeem=Decimal(0)) -> rules.Decision:
    return rules.evaluate(program, order, guest, redeem=redeem, zone_min_order=zone_min, now=at)
