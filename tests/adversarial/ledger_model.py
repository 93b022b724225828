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
    burns: list[tuple[datetime, int]] = field(default_factory=list)  # (when, kopecks burned)

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
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    written_off: int = 0  # of its accrual, not (yet) taken back


@dataclass
class ShopModel:
    """Guests by phone, orders by id; every method returns the HTTP status the verb must give."""

    guests: dict[str, GuestModel] = field(default_factory=dict)
    orders: dict[str, OrderModel] = field(default_factory=dict)

    def register(self, phone: str, now: datetime) -> int:
        if phone in self.guests:
            return 409
        self.guests[phone] = GuestModel(last_activity=now, registered_at=now)
        return 201

    def adjust(self, phone: str, amount: int) -> int:
        guest = self.guests.get(phone)
        if guest is None:
            return 404
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
        """3%, or 10% for pickup over 500.00, of what is paid in money; down to whole roubles."""
        if phone not in self.guests:
            return 0
        percent = 10 if channel == "pickup" and total > ZONE_MIN else 3
        return (total - redeem) * percent // 100 // 100 * 100

    def place(self, order_id, phone, channel, total, lunch, redeem, hold_until) -> int:
        if order_id in self.orders:
            return 409
        if redeem > self.redeem_max(phone, channel, total, lunch):
            return 422
        accrual = self.accrual(phone, channel, total, redeem)
        order = OrderModel(phone, phone in self.guests, redeem, accrual)
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
        order.status, order.completed_at = "completed", now
        return 200

    def cancel(self, order_id: str, now: datetime | None = None) -> int:
        order = self.orders.get(order_id)
        if order is None:
            return 404
        if order.status == "cancelled":
            return 409
        if order.registered and order.status == "completed":
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
        if order.status == "completed":
            guest.balance += order.redeemed
            taken = min(order.accrual, guest.available)  # the rest is written off
            guest.balance -= taken
            order.written_off = order.accrual - taken
            if order.redeemed:
                self._recover(guest, order, order_id)
            if guest.last_activity == order.completed_at:  # a cancelled order does not count
                guest.last_activity = max(
                    (other.completed_at for other in self.orders.values()
                     if other is not order and other.phone == order.phone and other.registered
                     and other.status == "completed"),
                    default=guest.registered_at,
                )  # fmt: skip

    def _recover(self, guest: GuestModel, refunding: OrderModel, refunding_id: str) -> None:
        """The refund gives back bonuses earlier cancels wrote off: take them back, up to the
        refund, oldest cancel first; what the expiry burned between such an order's completion
        and its cancel is not taken."""
        left = refunding.redeemed
        owing = sorted(
            ((other.cancelled_at, other_id), other)
            for other_id, other in self.orders.items()
            if other.phone == refunding.phone and other.status == "cancelled"
            and other.written_off > 0
        )  # fmt: skip
        for _, other in owing:
            burned = sum(amount for at, amount in guest.burns
                         if other.completed_at < at <= other.cancelled_at)  # fmt: skip
            recoverable = other.written_off - burned
            if recoverable <= 0:
                continue
            amount = min(recoverable, left, guest.available)
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

    def expire(self, cutoff: datetime, now: datetime | None = None) -> None:
        """Idle since before `cutoff`: the available balance burns, held bonuses stay."""
        for guest in self.guests.values():
            if guest.last_activity < cutoff and guest.balance > guest.held:
                guest.burns.append((now, guest.balance - guest.held))
                guest.balance = guest.held
