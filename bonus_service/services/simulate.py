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

The figures are also given per calendar month (in the candidate's time zone, by placed_at) and
per guest (the guests whose orders changed most, phone masked). Orders are streamed through a
server-side cursor in batches (`progress(done, total)` is called after each), each is parsed
once and evaluated twice (its own version with nothing spent: the cap; the candidate with what
was really spent: the cap and the accrual together), and only integers are kept: the months,
the `top` orders and a running change per guest whose orders changed.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

import rules
import sms
from bonus_service.models import Guest, Order, Zone
from bonus_service.services.reconcile import snapshot
from rules.money import money

BATCH_SIZE = 1000
# availability never binds the cap: the largest amount an order may carry
UNLIMITED = Decimal("10000000.00")
NOTHING = Decimal("0.00")
REGISTERED = rules.GuestState(registered=True, available=UNLIMITED)
UNREGISTERED = rules.GuestState(registered=False, available=UNLIMITED)

Progress = Callable[[int, int | None], None]


@dataclass
class Figures:
    """Kopecks over the replayed orders: accrued, redeemed, and the redemption cap's total."""

    accrued: int = 0
    redeemed: int = 0
    redeemable: int = 0

    @property
    def liability(self) -> int:
        return self.accrued - self.redeemed

    def add(self, other: Figures) -> None:
        self.accrued += other.accrued
        self.redeemed += other.redeemed
        self.redeemable += other.redeemable


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
class Month:
    """One calendar month (`2024-11`, in the candidate's zone) of replayed orders."""

    month: str
    orders: int = 0
    actual: Figures = field(default_factory=Figures)
    candidate: Figures = field(default_factory=Figures)

    @property
    def liability_change(self) -> int:
        return self.candidate.liability - self.actual.liability

    def line(self) -> str:
        a, c = self.actual, self.candidate
        pairs = ((a.accrued, c.accrued), (a.redeemable, c.redeemable), (a.redeemed, c.redeemed),
                 (a.liability, c.liability))  # fmt: skip
        return f"  {self.month:<8} {self.orders:>8}" + "".join(
            f" {money(x):>12} {money(y):>12}" for x, y in pairs
        )


@dataclass(frozen=True)
class GuestChange:
    """A guest whose replayed orders changed: how many, and the change summed over them."""

    guest_id: int
    phone: str  # masked, as operator-facing output shows phones (sms.masked)
    orders: int
    accrued_change: int
    redeemed_change: int

    @property
    def liability_change(self) -> int:
        return self.accrued_change - self.redeemed_change

    def line(self) -> str:
        return (
            f"  guest {self.guest_id} {self.phone}: {self.orders} orders changed, accrual "
            f"{_signed(self.accrued_change)}, redeemed {_signed(self.redeemed_change)}, "
            f"liability {_signed(self.liability_change)}"
        )


@dataclass
class Simulation:
    """The candidate beside reality over one period."""

    candidate_version: str
    since: datetime
    until: datetime
    timezone: str = "UTC"  # the zone of the months
    orders: int = 0
    changed: int = 0
    # orders the candidate cannot evaluate (more promo codes than it allows, a zone gone from
    # the zones table); left out of both columns so that they compare the same orders
    refused: int = 0
    actual: Figures = field(default_factory=Figures)
    candidate: Figures = field(default_factory=Figures)
    top: list[Replay] = field(default_factory=list)
    months: list[Month] = field(default_factory=list)  # months with replayed orders, in order
    guests: list[GuestChange] = field(default_factory=list)  # the guests most affected first

    @property
    def liability_change(self) -> int:
        return self.candidate.liability - self.actual.liability

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
            *(["guests most affected:"] if self.guests else []),
            *(g.line() for g in self.guests),
            *(self._month_lines() if self.months else []),
        ]

    def as_data(self) -> dict:
        """Plain JSON values (kopecks as integers, instants as ISO 8601), for storing."""
        return {**asdict(self), "since": self.since.isoformat(), "until": self.until.isoformat()}

    @classmethod
    def from_data(cls, data: dict) -> Simulation:
        """The Simulation `as_data` gave."""

        def figures(pair: dict) -> dict:
            return {"actual": Figures(**pair["actual"]), "candidate": Figures(**pair["candidate"])}

        return cls(**{
            **data, **figures(data),
            "since": datetime.fromisoformat(data["since"]),
            "until": datetime.fromisoformat(data["until"]),
            "top": [Replay(**{**r, **figures(r)}) for r in data["top"]],
            "months": [Month(**{**m, **figures(m)}) for m in data["months"]],
            "guests": [GuestChange(**g) for g in data["guests"]],
        })  # fmt: skip

    def _month_lines(self) -> list[str]:
        names = ("accrued", "redeemable", "redeemed", "liability")
        return [
            f"by month ({self.timezone}), actual beside candidate:",
            f"  {'month':<8} {'orders':>8}" + "".join(f" {n:>25}" for n in names),
            *(m.line() for m in self.months),
        ]


def _signed(kopecks_: int) -> str:
    return f"{'+' if kopecks_ > 0 else ''}{money(kopecks_)}"


class MissingVersion(LookupError):
    """An order's own rules version is gone from the book: its replay cannot be compared."""


def simulate(
    session: Session,
    book: rules.ProgramBook,
    candidate: rules.Program,
    since: datetime,
    until: datetime,
    *,
    top: int = 10,
    top_guests: int = 10,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Simulation:
    """Replay the completed orders placed in [since, until) under `candidate`.

    `session` must be fresh: it becomes one read-only snapshot, which the streaming cursor needs.
    `progress(done, total)` is called after each batch of `batch_size` orders (`total` counted
    first, in the same snapshot).
    """
    snapshot(session)
    zones = {code: money(m) for code, m in session.execute(select(Zone.code, Zone.min_order))}
    total = _count(session, since, until) if progress is not None else None
    replayer = _Replayer(book, candidate, zones, top)
    done = 0
    for batch in _completed_orders(session, since, until, batch_size):
        replayer.replay(batch)
        done += len(batch)
        if progress is not None:
            progress(done, total)
    if progress is not None and done == 0:
        progress(0, total)
    result = Simulation(candidate.version, since, until, candidate.timezone.key)
    replayer.finish(result)
    result.guests = _guests_most_affected(session, replayer.guests, top_guests)
    return result


class _Replayer:
    """The per-order loop, and the integers it keeps: months, top orders, changes per guest."""

    def __init__(self, book, candidate: rules.Program, zones: dict, top: int):
        self.book, self.candidate, self.zones, self.top = book, candidate, zones, top
        self.zone = candidate.timezone
        self.programs: dict[str, rules.Program] = {}
        self.months: list[Month] = []
        self.month_ends = datetime.min.replace(tzinfo=UTC)  # the current month's end (UTC)
        self.heap: list[tuple] = []  # the `top` changed orders: (size, -seq, replay data)
        self.seq = 0
        self.refused = 0
        self.changed = 0
        self.guests: dict[int, list[int]] = {}  # guest id → [orders changed, Δ accrued, Δ spent]

    def replay(self, rows) -> None:
        for row in rows:
            figures = self._figures(row)
            if figures is None:
                self.refused += 1
                continue
            if row.placed_at >= self.month_ends:
                self._new_month(row.placed_at)
            month = self.months[-1]
            month.orders += 1
            a, c = month.actual, month.candidate
            a_accrued, a_redeemed, a_cap, c_accrued, c_redeemed, c_cap = figures
            a.accrued += a_accrued
            a.redeemed += a_redeemed
            a.redeemable += a_cap
            c.accrued += c_accrued
            c.redeemed += c_redeemed
            c.redeemable += c_cap
            if a_accrued != c_accrued or a_redeemed != c_redeemed:
                self._changed(row, figures)

    def _figures(self, row) -> tuple[int, ...] | None:
        """Kopecks: the order's own accrual, spend and cap; the candidate's; None if refused."""
        order = rules.parse_order(json.loads(row.payload))
        guest = UNREGISTERED if row.guest_id is None else REGISTERED
        zone_min = self.zones.get(order.zone) if order.zone else None
        asked = money(row.redeemed) if row.redeemed else NOTHING
        try:
            # one evaluation gives the candidate's cap and the accrual with min(asked, cap)
            # spent (evaluate spends what can be spent of a request over the cap)
            new = rules.evaluate(self.candidate, order, guest, redeem=asked,
                                 zone_min_order=zone_min, now=row.placed_at)  # fmt: skip
            old = rules.evaluate(self._program(row), order, guest, redeem=NOTHING,
                                 zone_min_order=zone_min, now=row.placed_at)  # fmt: skip
        except (rules.OrderError, ValueError):
            return None
        spent = min(asked, new.redeem_max)
        return (row.accrual, row.redeemed, _kopecks(old.redeem_max),
                _kopecks(new.accrual), _kopecks(spent), _kopecks(new.redeem_max))  # fmt: skip

    def _program(self, row) -> rules.Program:
        program = self.programs.get(row.rules_version)
        if program is None:
            try:
                program = self.programs[row.rules_version] = self.book.get(row.rules_version)
            except KeyError:
                raise MissingVersion(
                    f"order {row.id} was placed under rules version {row.rules_version!r}, "
                    "which BONUS_RULES_DIR does not hold: restore its file (a published "
                    "version stays)"
                ) from None
        return program

    def _new_month(self, placed_at: datetime) -> None:
        local = placed_at.astimezone(self.zone)
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0, fold=0)
        following = datetime(start.year + start.month // 12, start.month % 12 + 1, 1,
                             tzinfo=self.zone)  # fmt: skip
        self.month_ends = following.astimezone(UTC)
        self.months.append(Month(f"{start.year:04d}-{start.month:02d}"))

    def _changed(self, row, figures: tuple[int, ...]) -> None:
        self.changed += 1
        a_accrued, a_redeemed, _, c_accrued, c_redeemed, _ = figures
        accrued, redeemed = c_accrued - a_accrued, c_redeemed - a_redeemed
        if row.guest_id is not None:
            guest = self.guests.get(row.guest_id)
            if guest is None:
                guest = self.guests[row.guest_id] = [0, 0, 0]
            guest[0] += 1
            guest[1] += accrued
            guest[2] += redeemed
        if self.top:
            self.seq += 1
            # ties keep the earlier order first
            entry = ((abs(accrued - redeemed), abs(accrued)), -self.seq,
                     (row.id, row.channel, row.total, figures))  # fmt: skip
            if len(self.heap) < self.top:
                heapq.heappush(self.heap, entry)
            elif entry > self.heap[0]:
                heapq.heapreplace(self.heap, entry)

    def finish(self, result: Simulation) -> None:
        result.months = self.months
        for month in self.months:
            result.orders += month.orders
            result.actual.add(month.actual)
            result.candidate.add(month.candidate)
        result.changed, result.refused = self.changed, self.refused
        result.top = [
            Replay(oid, channel, total, Figures(*figures[:3]), Figures(*figures[3:]))
            for _, _, (oid, channel, total, figures) in sorted(self.heap, reverse=True)
        ]


def _kopecks(amount: Decimal) -> int:
    """Roubles with two places → kopecks (the evaluator's amounts are quantized to cents)."""
    return int(amount.scaleb(2))


def _guests_most_affected(session: Session, changes: dict, top: int) -> list[GuestChange]:
    """The `top` guests by |Σ liability change| (ties: the lower id first), phones masked."""
    chosen = heapq.nsmallest(top, changes.items(),
                             key=lambda kv: (-abs(kv[1][1] - kv[1][2]), kv[0]))  # fmt: skip
    if not chosen:
        return []
    ids = [gid for gid, _ in chosen]
    phones = dict(session.execute(select(Guest.id, Guest.phone).where(Guest.id.in_(ids))).all())
    return [GuestChange(gid, sms.masked(phones.get(gid, "")), n, accrued, redeemed)
            for gid, (n, accrued, redeemed) in chosen]  # fmt: skip


def _window(query, since: datetime, until: datetime):
    return query.where(Order.status == "completed", Order.placed_at >= since,
                       Order.placed_at < until)  # fmt: skip


def _count(session: Session, since: datetime, until: datetime) -> int:
    return session.scalar(_window(select(func.count()).select_from(Order), since, until))


def _completed_orders(session: Session, since: datetime, until: datetime, batch_size: int):
    """Batches of rows with only the columns the replay reads, through a server-side cursor
    (Core rows: the ORM's per-row work buys nothing here). The payload comes as text for
    json.loads: psycopg's own JSON loading took 18 µs a row where the text and json.loads take
    12 (bench/simulate.py, 20,000 orders)."""
    query = _window(
        select(Order.id, Order.guest_id, Order.channel, cast(Order.payload, Text).label("payload"),
               Order.total,
               Order.redeemed, Order.accrual, Order.rules_version, Order.placed_at),
        since, until,
    ).order_by(Order.placed_at, Order.id)  # fmt: skip
    connection = session.connection()
    return connection.execution_options(yield_per=batch_size).execute(query).partitions()
