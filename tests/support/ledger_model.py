"""A plain-Python model of the bonus program for the stateful ledger test: what each guest's
balance and held bonuses must be after each verb, written from the contract, not from the code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

CAP_PERCENT = 20
ZONE_MIN = 50_000  # kopecks: the zone "north" the machine creates


@dataclass
class GuestModel:
    balance: int = 0  # kopecks
    held: int = 0
    last_activity: datetime | None = None
    registered_at: datetime | None = None
    last_burn: int | None = None  # the model's tick of the latest burn

    @property
    def available(self) -> int:
        return self.balance - self.held


@dataclass
class OrderModel:
    phone: str
    registered: bool  # the guest existed when the order was placed
    redeemed: int
    accrual: int
    status: str = "placed"
    hold_expires_at: datetime | None = None
    placed_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    completed_tick: int | None = None  # where its completion falls among the burns
    written_off: int = 0  # of its accrual, not (yet) taken back


@dataclass
class ShopModel:
    """Guests by phone, orders by id; every method returns the HTTP status the verb must give."""

    guests: dict[str, GuestModel] = field(default_factory=dict)
    orders: dict[str, OrderModel] = field(default_factory=dict)
    ticks: int = 0  # orders completions and burns, as the ledger's ids do

    def _tick(self) -> int:
        self.ticks += 1
        return self.ticks

    def _settled(self, order: OrderModel) -> bool:
        """A burn after its completion: cancelled, it moves nothing (the burn took it all)."""
        guest = self.guests.get(order.phone)
        burn = guest.last_burn if guest else None
        return burn is not None and order.completed_tick is not None and burn > order.completed_tick

    def register(self, phone: str, now: datetime) -> int:
        if phone in self.guests:
            return 409
        self.guests[phone] = GuestModel(last_activity=now, registered_at=now)
        return 201

    def adjust(self, phone: str, amount: int) -> int:
        guest = self.guests.get(phone)
        if guest is None:
            return 404
        if (guest.balance + amount) % 100:  # balances stay in whole bonuses
            return 422
        if amount == 0 or guest.available + amount < 0:
            return 422
        guest.balance += amount
        return 201

    def redeem_max(self, phone: str, channel: str, total: int, lunch: bool) -> int:
        """Whole roubles: 20% of the total, at most what is available, keeping the zone minimum."""
        guest = self.guests.get(phone)
        if guest is None or lunch:
            return 0
        limit = min(total * CAP_PERCENT // 100, guest.available)
        if channel == "delivery":
            limit = min(limit, total - ZONE_MIN)
        return max(0, limit) // 100 * 100

    def accrual(self, phone: str, channel: str, total: int, redeem: int) -> int:
        """3%, or 10% for pickup over 500.00, of the order amount whatever is redeemed; down to
        whole roubles."""
        if phone not in self.guests:
            return 0
        percent = 10 if channel == "pickup" and total > ZONE_MIN else 3
        return total * percent // 100 // 100 * 100

    def place(self, order_id, phone, channel, total, lunch, redeem, hold_until,
              placed_at: datetime | None = None) -> int:
        if order_id in self.orders:
            return 409
        if redeem > self.redeem_max(phone, channel, total, lunch):
            return 422
        accrual = self.accrual(phone, channel, total, redeem)
        order = OrderModel(phone, phone in self.guests, redeem, accrual, placed_at=placed_at)
        if redeem:
            self.guests[phone].held += redeem
            order.hold_expires_at = hold_until
        self.orders[order_id] = order
        return 201

    def complete(self, order_id: str, now: datetime) -> int:
        order = self.orders.get(order_id)
        if order is None:
            return 404
        if order.status not in ("placed", "expired"):
            return 409
        if order.registered:
            guest = self.guests[order.phone]
            if order.status == "expired" and guest.available < order.redeemed:
                return 409
            held = order.redeemed if order.status == "placed" else 0
            guest.balance += order.accrual - order.redeemed
            guest.held -= held
            guest.last_activity = now
        order.status, order.completed_at, order.completed_tick = "completed", now, self._tick()
        return 200

    def cancel(self, order_id: str, now: datetime | None = None) -> int:
        order = self.orders.get(order_id)
        if order is None:
            return 404
        if order.status == "cancelled":
            return 409
        if order.registered and order.status == "completed" and not self._settled(order):
            guest = self.guests[order.phone]
            # what it earned is partly held by other open orders: wait for them
            if order.accrual > guest.available + order.redeemed and guest.held:
                return 409
        if order.registered:
            self._undo(self.guests[order.phone], order, order_id)
        order.status, order.cancelled_at = "cancelled", now
        return 200

    def _undo(self, guest: GuestModel, order: OrderModel, order_id: str) -> None:
        if order.status == "placed":
            guest.held -= order.redeemed
        if order.status == "completed" and self._settled(order):
            order.written_off = order.accrual  # burned or spent before the burn: no debt
        elif order.status == "completed":
            guest.balance += order.redeemed
            taken = min(order.accrual, guest.available)  # the rest is written off
            guest.balance -= taken
            order.written_off = order.accrual - taken
            if order.redeemed:
                self._recover(guest, order, order_id)
        if order.status == "completed":
            if guest.last_activity == order.completed_at:  # a cancelled order does not count
                guest.last_activity = max(
                    (other.completed_at for other in self.orders.values()
                     if other is not order and other.phone == order.phone and other.registered
                     and other.status == "completed"),
                    default=guest.registered_at,
                )  # fmt: skip

    def _recover(self, guest: GuestModel, refunding: OrderModel, refunding_id: str) -> None:
        """The refund gives back bonuses earlier cancels wrote off: take them back, up to the
        refund, oldest cancel first; only of orders completed after the latest burn (it settled
        the ones before)."""
        left = refunding.redeemed
        owing = sorted(
            ((other.cancelled_at, other_id), other)
            for other_id, other in self.orders.items()
            if other.phone == refunding.phone and other.status == "cancelled"
            and other.written_off > 0 and not self._settled(other)
        )  # fmt: skip
        for _, other in owing:
            amount = min(other.written_off, left, guest.available)
            if amount <= 0:
                break
            guest.balance -= amount
            other.written_off -= amount
            left -= amount

    def release_stale(self, now: datetime) -> None:
        for order in self.orders.values():
            if order.status == "placed" and order.hold_expires_at and order.hold_expires_at <= now:
                self.guests[order.phone].held -= order.redeemed
                order.status = "expired"

    def expire(self, cutoff: datetime, now: datetime, open_since: datetime | None) -> None:
        """Idle since before `cutoff`: the available balance burns, held bonuses stay; under
        the program's expiry.open_orders "wait", a guest with an order placed after
        `open_since` and still open is left alone. A burn that leaves nothing settles the
        orders completed before it."""
        waiting = {order.phone for order in self.orders.values()
                   if open_since is not None and order.status == "placed" and order.registered
                   and order.placed_at > open_since}  # fmt: skip
        for phone, guest in self.guests.items():
            if guest.last_activity < cutoff and guest.balance > guest.held and phone not in waiting:
                if guest.held == 0:
                    guest.last_burn = self._tick()
                guest.balance = guest.held
