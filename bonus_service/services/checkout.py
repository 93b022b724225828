"""Checkout verbs: quote, place, complete, cancel, and the timer that releases stale holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import rules
from bonus_service import ledger
from bonus_service.credentials import token_holder
from bonus_service.db import Database, run
from bonus_service.errors import Conflict, ConsentRequired, NotFound, invalid
from bonus_service.models import ApiClient, Guest, LedgerEntry, Order, Zone
from bonus_service.services import lifecycle, spending_codes
from bonus_service.services.reasons import reason
from bonus_service.settings import Settings
from rules.money import kopecks, money

# A guest's (balance, held) in kopecks as a movement left them; None for an unknown phone.
Figures = tuple[int, int] | None


class Balance(NamedTuple):
    """What checkout reads of a guest: three columns, not the ORM entity (a quote's hot path)."""

    id: int
    balance: int
    held: int


GUESTS, ORDERS, ZONES = Guest.__table__, Order.__table__, Zone.__table__
# Checkout's hot statements are prebuilt Core statements on the tables: the ORM's entity
# machinery cost more CPU per statement than the statement itself.
_ACCOUNT = select(GUESTS.c.id, GUESTS.c.balance, GUESTS.c.held).where(
    GUESTS.c.phone == bindparam("phone")
)
_ZONE_MIN = select(ZONES.c.min_order).where(ZONES.c.code == bindparam("code"))
# A new order, unless the client already used its id (→ no row: 409).
_NEW_ORDER = {
    name: dialect.insert(ORDERS)
    .on_conflict_do_nothing(index_elements=["client_id", "id"])
    .returning(ORDERS.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
# A placed order completes in one statement that also locks it; anything else takes the
# careful path (an expired hold, an unknown id, a completed or cancelled order). A parameter
# of an UPDATE may not be named as a column of its table (SQLAlchemy reads such a name as a
# SET value): hence `order_client_id`.
_COMPLETE_PLACED = (
    update(ORDERS)
    .where(
        ORDERS.c.client_id == bindparam("order_client_id"),
        ORDERS.c.id == bindparam("order_id"),
        ORDERS.c.status == "placed",
    )
    .values(status="completed", completed_at=bindparam("now", type_=ORDERS.c.completed_at.type))
    .returning(ORDERS.c.guest_id, ORDERS.c.redeemed, ORDERS.c.accrual, ORDERS.c.rules_version)
)


def _balance_in(session: Session, phone: str) -> Balance | None:
    """The guest's figures inside the caller's transaction (placing an order)."""
    rows = run(session, _ACCOUNT, {"phone": phone})
    return Balance(*rows[0]) if rows else None


def _balance_now(db: Database, phone: str) -> Balance | None:
    """The guest's figures for a quote, outside any transaction (the hot read path)."""
    row = db.read_row(_ACCOUNT, {"phone": phone})
    return Balance(*row) if row is not None else None


def _figures(movement: ledger.Movement | None, guest: Balance | None) -> Figures:
    if movement is not None:
        return movement.balance, movement.held
    return (guest.balance, guest.held) if guest is not None else None


@dataclass(frozen=True)
class Quote:
    decision: rules.Decision
    available: int
    guest: Balance | None


def _zone_min(min_order, order: rules.Order) -> Decimal | None:
    if order.zone is None:
        return None
    if min_order is None:
        raise invalid("order.zone", f"unknown delivery zone {order.zone!r}")
    return money(min_order)


def _decide(program, phone, guest: Balance | None, order, redeem, min_order, now) -> Quote:
    available = guest.balance - guest.held if guest else 0
    state = None if phone is None else rules.GuestState(guest is not None, money(available))
    decision = rules.evaluate(
        program, order, state, redeem=redeem, zone_min_order=_zone_min(min_order, order), now=now
    )
    return Quote(decision, available, guest)


def quote(
    session: Session,
    program: rules.Program,
    phone: str | None,
    order: rules.Order,
    redeem: Decimal,
    now: datetime,
) -> Quote:
    """Evaluate the order for this guest inside the caller's transaction (placing an order)."""
    guest = _balance_in(session, phone) if phone else None
    min_order = (
        session.execute(_ZONE_MIN, {"code": order.zone}).scalar() if order.zone else None
    )
    return _decide(program, phone, guest, order, redeem, min_order, now)


def quote_now(
    db: Database,
    program: rules.Program,
    phone: str | None,
    order: rules.Order,
    redeem: Decimal,
    now: datetime,
) -> Quote:
    """Evaluate the order for this guest, changing nothing: reads outside any transaction."""
    guest = _balance_now(db, phone) if phone else None
    zone = db.read_row(_ZONE_MIN, {"code": order.zone}) if order.zone else None
    return _decide(program, phone, guest, order, redeem, zone[0] if zone else None, now)


def check_redeem(decision: rules.Decision, redeem: Decimal) -> None:
    if not decision.redeem_in_steps:
        raise invalid(
            "redeem",
            f"{redeem} is not a multiple of {decision.step}: rules version {decision.version} "
            f"spends bonuses in steps of {decision.step}",
            redeem_max=f"{decision.redeem_max}",
            explanation=[e._asdict() for e in decision.explanation],
        )
    if redeem > decision.redeem_max:
        raise invalid(
            "redeem",
            f"{redeem} is over redeem_max {decision.redeem_max}",
            redeem_max=f"{decision.redeem_max}",
            explanation=[e._asdict() for e in decision.explanation],
        )


@dataclass(frozen=True)
class Consent:
    """What a call brings as the guest's consent to spend, as given: the guest's token
    (X-Guest-Token) or a spending code (confirmation_code). `place` checks it once it knows
    whose bonuses the order spends."""

    token: str | None = None
    code: str | None = None


def require_consent(
    session: Session,
    settings: Settings,
    secret: bytes,
    guest_id: int,
    phone: str,
    now: datetime,
    *,
    consent: Consent,
    client_id: int,
    redeem: Decimal,
    order_id: str,
) -> None:
    """Spending needs the guest's consent: the guest's own token, or a spending code this
    client asked for (POST /v1/orders/confirmation-code) covering `redeem`, used up here by
    `order_id`; ConsentRequired otherwise, whoever calls. A login code is never consent."""
    token, code = consent.token, consent.code
    if token:
        holder = token_holder(session, token.strip(), now)
        if holder is None or holder[0] != guest_id:
            raise ConsentRequired(
                "X-Guest-Token does not belong to this phone's guest.",
                errors={"X-Guest-Token": "not this guest's token"},
            )
        if not holder[1]:
            raise ConsentRequired(
                "This X-Guest-Token came from logging in with the code of an operator's "
                "registration, which is no consent to spend: the guest logs in again with a "
                "code from POST /v1/auth/sms-code.",
                errors={"X-Guest-Token": "a registration code's login is no consent"},
            )
        return
    if not code:
        raise ConsentRequired(
            "Spending bonuses needs the guest's consent: X-Guest-Token, or confirmation_code "
            "holding a spending code from POST /v1/orders/confirmation-code.",
            errors={"confirmation_code": "required to redeem"},
        )
    spending_codes.use(
        session, settings, secret, phone=phone, client_id=client_id, code=code, redeem=redeem,
        order_id=order_id, now=now,
    )  # fmt: skip


def order_payload(order: rules.Order) -> dict:
    """The order as plain JSON (amounts as strings), as it is kept with the order."""
    items = [
        {
            "sku": i.sku,
            "name": i.name,
            "category": i.category,
            "qty": i.qty,
            "price": f"{i.price:.2f}",
        }
        for i in order.items
    ]
    return {
        "channel": order.channel,
        "source": order.source,
        "zone": order.zone,
        "items": items,
        "promo_codes": list(order.promo_codes),
        "discount": f"{order.discount:.2f}",
    }


def place(
    session: Session,
    program: rules.Program,
    *,
    client_id: int,
    order_id: str,
    phone: str,
    order: rules.Order,
    redeem: Decimal,
    actor: str,
    now: datetime,
    hold_ttl: timedelta,
    consent: Consent,
    settings: Settings,
    secret: bytes,
) -> tuple[Order, Figures]:
    """Record the order and hold the bonuses it spends, in the caller's transaction.

    `consent` is checked only when bonuses are to be spent (a spending code's try is its
    first write; `settings` and the code `secret` check it). An order id the client already
    used is a Conflict, once the order itself was found valid; another client's order of the
    same id is no concern of this one.
    """
    quoted = quote(session, program, phone, order, redeem, now)
    check_redeem(quoted.decision, redeem)
    decision, guest = quoted.decision, quoted.guest
    if redeem > 0:
        # redeem_max is 0 for an unregistered phone: the guest exists
        require_consent(session, settings, secret, guest.id, phone, now, consent=consent,
                        client_id=client_id, redeem=redeem, order_id=order_id)  # fmt: skip
    values = {
        "client_id": client_id,
        "id": order_id,
        "guest_id": guest.id if guest else None,
        "phone": phone,
        "channel": order.channel,
        "source": order.source,
        "payload": order_payload(order),
        "total": kopecks(decision.total),
        "redeemed": kopecks(redeem),
        "accrual": kopecks(decision.accrual),
        "rules_version": decision.version,
        "explanation": [e._asdict() for e in decision.explanation],
        "status": "placed",
        "placed_by": actor,
        "placed_at": now,
        "hold_expires_at": now + hold_ttl if redeem else None,
        "completed_at": None,
        "cancelled_at": None,
    }
    if not run(session, _NEW_ORDER[session.get_bind().dialect.name], values):
        raise Conflict(f"Order {order_id!r} already exists.", errors={"id": "already used"})
    row = Order(**values)  # a detached copy for the answer
    held = None
    for kind, amount in lifecycle.moves(row, lifecycle.NEW, "placed"):  # the hold, if any
        held = _move(session, row, kind, amount, actor, now)
        if held is None:
            # the balance moved between the quote and the hold: a concurrent order won
            raise invalid("redeem", "the balance changed; quote again", redeem_max="0.00")
    return row, _figures(held, guest)


def _make(session, row: Order, before: str | None, after: str, actor: str, now: datetime,
          **extra) -> list[ledger.Movement] | None:
    """The movements of the order's change of status (services/lifecycle.py) as one ledger
    write: [] if the change has none, None (nothing written) if they would overdraw.

    A completion's: its spend and accrual, the new last order time with them (one statement)."""
    steps = [ledger.Step(kind, amount, reason(kind, row.id, money(amount)))
             for kind, amount in lifecycle.moves(row, before, after)]  # fmt: skip
    if not steps:
        return []
    return ledger.move_many(
        session, row.guest_id, steps, actor=actor, now=now, order_client_id=row.client_id,
        order_id=row.id, rules_version=row.rules_version, **extra,
    )  # fmt: skip


def _move(session, order: Order, kind: str, amount: int, actor: str, now: datetime,
          text: str | None = None, **extra):
    """One movement of the order's bonuses; `text` picks a variant of the kind's reason."""
    return ledger.move(
        session,
        order.guest_id,
        kind,
        amount,
        actor=actor,
        now=now,
        order_client_id=order.client_id,
        order_id=order.id,
        rules_version=order.rules_version,
        reason=reason(text or kind, order.id, money(amount)),
        **extra,
    )


def no_order(order_id: str) -> NotFound:
    """The one answer for an id the client never used, whether or not another client did."""
    return NotFound(f"No order {order_id!r}.")


def _locked_order(session: Session, client_id: int, order_id: str) -> Order:
    row = session.scalar(
        select(Order).where(Order.client_id == client_id, Order.id == order_id).with_for_update()
    )
    if row is None:
        raise no_order(order_id)
    return row


def find_order(
    session: Session, order_id: str, client_id: int, *, every_client: bool, client: str | None
) -> tuple[Order, str]:
    """The order a caller reads, and its client's name.

    A checkout caller (`every_client` False) finds only its own client's orders. An operator
    finds any: the one of the client named `client`, or else its own client's of that id, or
    else the only one of that id (several → 409 naming their clients, so one can be named).
    """
    query = (
        select(Order, ApiClient.name)
        .join(ApiClient, ApiClient.id == Order.client_id)
        .where(Order.id == order_id)
        .order_by(ApiClient.name)
    )
    if client is not None:
        query = query.where(ApiClient.name == client)
    if not every_client:
        query = query.where(Order.client_id == client_id)
    found = [tuple(row) for row in session.execute(query)]
    own = [row for row in found if row[0].client_id == client_id]
    if own or len(found) == 1:
        return (own or found)[0]
    if not found:
        raise no_order(order_id)
    names = [name for _, name in found]
    raise Conflict(
        f"Order id {order_id!r} is used by {len(names)} clients ({', '.join(names)}): "
        "name one with ?client=.",
        facts={"clients": names},
    )


def order_movements(session: Session, order: Order) -> list[LedgerEntry]:
    """The order's bonus movements, in ledger order."""
    return session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.order_client_id == order.client_id, LedgerEntry.order_id == order.id)
        .order_by(LedgerEntry.id)
    ).all()


def complete(
    session: Session, client_id: int, order_id: str, actor: str, now: datetime
) -> tuple[Order, Figures]:
    """The client's order was paid: spend the hold, credit the accrual, move the last order
    time."""
    placed = run(
        session,
        _COMPLETE_PLACED,
        {"order_client_id": client_id, "order_id": order_id, "now": now},
    )
    if not placed:
        return _complete_otherwise(session, client_id, order_id, actor, now)
    guest_id, redeemed, accrual, rules_version = placed[0]
    row = Order(
        client_id=client_id, id=order_id, status="completed", completed_at=now, guest_id=guest_id,
        redeemed=redeemed, accrual=accrual, rules_version=rules_version,
    )  # fmt: skip
    if row.guest_id is None:
        return row, None
    moved = _make(session, row, "placed", "completed", actor, now, last_order_at=now)
    if moved is None:  # the hold is gone from under a placed order: never leave it half-done
        raise RuntimeError(f"order {order_id}: its hold is not held; run `bonus reconcile`")
    if not moved:
        return row, _touch_last_order(session, row.guest_id, now)
    return row, (moved[-1].balance, moved[-1].held)


def _complete_otherwise(session: Session, client_id: int, order_id: str, actor: str, now):
    """Complete an order whose hold expired (spend from what is available now), or say why not."""
    row = _locked_order(session, client_id, order_id)
    if row.status != "expired":
        raise Conflict(
            f"Order {order_id!r} is {row.status}; only a placed order completes.",
            facts={"status_now": row.status},
        )
    figures = None
    if row.guest_id is not None:
        # The hold already timed out: hold again from what is available now, if it is still
        # there, and spend.
        moved = _make(session, row, "expired", "completed", actor, now, last_order_at=now)
        if moved is None:
            raise Conflict(
                f"Order {row.id!r}: its hold expired and the guest no longer has "
                f"{money(row.redeemed)} bonuses available.",
                facts={"status_now": row.status},
            )
        figures = _figures(moved[-1], None) if moved else _touch_last_order(
            session, row.guest_id, now)  # fmt: skip
    row.status, row.completed_at = "completed", now
    return row, figures


def _touch_last_order(session: Session, guest_id: int, now: datetime) -> Figures:
    """An order that moved no bonuses still counts as the guest's last order."""
    row = session.execute(
        update(GUESTS)
        .where(GUESTS.c.id == guest_id)
        .values(last_order_at=now)
        .returning(GUESTS.c.balance, GUESTS.c.held)
    ).one()
    return row.balance, row.held


def cancel(
    session: Session,
    client_id: int,
    order_id: str,
    actor: str,
    now: datetime,
    *,
    cancelled_orders: str = "ignore",
    book: rules.ProgramBook | None = None,
) -> tuple[Order, dict, Figures]:
    """Undo the client's order: release its hold, or give back what it spent and take back
    what it earned.

    `cancelled_orders` is the program's `expiry.cancelled_orders`: under "ignore" a completed
    order cancelled now stops being the guest's last order (the idle count goes back to the
    completed order before it, or to registration). An order keeps the version it was placed
    under: when `book` holds that version, its `cancelled_orders` decides instead. Returns the
    order, the kopecks moved (released, refunded, reversed, written_off) and the guest's
    figures after.
    """
    row = _locked_order(session, client_id, order_id)
    if book is not None and row.rules_version in book.versions:
        cancelled_orders = book.get(row.rules_version).cancelled_orders
    if row.status == "cancelled":
        raise Conflict(f"Order {order_id!r} is already cancelled.",
                       facts={"status_now": row.status})  # fmt: skip
    moved = {"released": 0, "refunded": 0, "reversed": 0, "written_off": 0, "recovered": 0}
    if row.status != "completed":  # placed or expired: what it still holds goes back
        for kind, amount in lifecycle.moves(row, row.status, "cancelled"):
            _move(session, row, kind, amount, actor, now)
            moved[_DONE[kind]] = amount
    if row.guest_id is not None and row.status == "completed":
        burn = _latest_burn(session, row.guest_id)
        if _settled(session, row, burn):
            moved["written_off"] = _settled_by_burn(session, row, actor, now)
        else:
            moved.update(_unwind(session, row, actor, now))
            if row.redeemed:
                moved["recovered"] = _recover_written_off(session, row, burn, actor, now)
        if cancelled_orders == "ignore":
            _forget_last_order(session, row)
    row.status, row.cancelled_at = "cancelled", now
    guest = session.get(Guest, row.guest_id, populate_existing=True) if row.guest_id else None
    return row, moved, _figures(None, guest)


# a movement's kind → its key in what `cancel` returns
_DONE = {"release": "released", "refund": "refunded", "reversal": "reversed"}


def _forget_last_order(session: Session, row: Order) -> None:
    """The guest's last order time falls back to the latest other completed order (or none).

    Only when this order set it: the WHERE sees a completion committed meanwhile (PostgreSQL
    re-checks it on the row's newest version), so a newer order time is never lowered.
    """
    latest = (
        select(func.max(ORDERS.c.completed_at))
        .where(
            ORDERS.c.guest_id == row.guest_id,
            ORDERS.c.status == "completed",
            # this one is still "completed" in the table until flushed
            or_(ORDERS.c.client_id != row.client_id, ORDERS.c.id != row.id),
        )
        .scalar_subquery()
    )
    session.execute(
        update(GUESTS)
        .where(GUESTS.c.id == row.guest_id, GUESTS.c.last_order_at == row.completed_at)
        .values(last_order_at=latest)
    )


def completion_entry(client_id, order_id):
    """SQL: the id of the order's last completion entry (its spend or accrual), the place of
    its completion in the guest's ledger, whose ids follow the guest's row lock. The order may
    be `Order.client_id, Order.id` of an enclosing query, however deep (reconcile's)."""
    entry = LedgerEntry.__table__.alias("completion")
    return (
        select(func.max(entry.c.id))
        .where(
            entry.c.order_client_id == client_id,
            entry.c.order_id == order_id,
            entry.c.kind.in_(("spend", "accrual")),
        )
        .correlate(Order)
        .scalar_subquery()
    )


def _latest_burn(session: Session, guest_id: int) -> int | None:
    """The id of the guest's latest expiry entry that left the account empty, if any.

    The guest's row is locked first, so a burn running now is either committed and seen, or
    waits for this cancel.

    Only such a burn settles what came before it: one that left bonuses held by an open order
    (program setting `expiry.open_orders: "burn"`) let them be spent after it, and a cancel of
    that later order gives them back (a review: settling across it made 100 bonuses).
    """
    session.get(Guest, guest_id, populate_existing=True, with_for_update=True)
    return session.scalar(
        select(func.max(LedgerEntry.id))
        .where(LedgerEntry.guest_id == guest_id, LedgerEntry.kind == "expiry",
               LedgerEntry.balance_after == 0)
    )  # fmt: skip


def _settled(session: Session, row: Order, burn: int | None) -> bool:
    """Did that burn (`_latest_burn`) come after this order completed?"""
    if burn is None:
        return False
    completed = session.scalar(select(completion_entry(row.client_id, row.id)))
    return completed is not None and burn > completed


def _settled_by_burn(session: Session, row: Order, actor: str, now: datetime) -> int:
    """A burn after the completion settled the order: cancel it moving no bonuses.

    The burn left the account empty, and it would have left the same without this order:
    what the order spent would have burned too, what it earned was spent or burned. Giving the
    spend back or taking the accrual from what the guest has earned since would only make up
    a balance no order stands behind (a burn counted against several cancels minted bonuses;
    a burned accrual taken from later orders cost the guest theirs: two money audits). A zero
    entry tells the guest why; the accrual counts as written off (burned or spent).
    """
    for kind, amount in lifecycle.moves(row, "completed", "cancelled", settled=True):
        _move(session, row, kind, amount, actor, now, text=f"{kind}.burned")
    return row.accrual


def _unwind(session: Session, row: Order, actor: str, now: datetime) -> dict:
    """Refund the spend, then take back as much of the accrual as the guest still has.

    A guest may already have spent the bonuses this order earned; the balance never goes
    negative, so what cannot be taken back is written off and said in the entry's reason.
    """
    undone = {"refunded": 0}
    for kind, amount in lifecycle.moves(row, "completed", "cancelled"):
        if kind == "reversal":  # as much of the accrual as the guest still has
            undone.update(_take_back(session, row, actor, now))
        else:
            _move(session, row, kind, amount, actor, now)
            undone[_DONE[kind]] = amount
    return undone


def _take_back(session: Session, row: Order, actor: str, now: datetime) -> dict:
    """Reverse the order's accrual, or as much of it as is available; write off the rest."""
    for _ in range(5):  # another movement may take the balance between our read and write
        # Locked: a cancel that refunds a spend at the same time must commit first and be
        # seen. Read unlocked, the balance before that refund wrote off too much, and the
        # refund's recovery had run while this order still looked completed: bonuses minted
        # (a race audit, PostgreSQL). It also waits out a hold that is being released.
        guest = session.get(Guest, row.guest_id, populate_existing=True, with_for_update=True)
        taken = max(0, min(row.accrual, guest.balance - guest.held))
        if taken < row.accrual and guest.held:
            raise _held_elsewhere(row, min(row.accrual - taken, guest.held))
        moved = ledger.move(
            session,
            row.guest_id,
            "reversal",
            taken,
            actor=actor,
            now=now,
            order_client_id=row.client_id,
            order_id=row.id,
            rules_version=row.rules_version,
            reason=reason("reversal", row.id, money(taken), written_off=money(row.accrual - taken)),
        )
        if moved is not None:
            return {"reversed": taken, "written_off": row.accrual - taken}
    raise Conflict("The balance is changing too fast to cancel; retry.", retry_after=1)


def _recover_written_off(
    session: Session, row: Order, burn: int | None, actor: str, now: datetime
) -> int:
    """Take back what earlier cancels wrote off, from the spend this cancel gave back.

    An accrual the guest had spent on this order could not be taken back when its own order
    was cancelled (written off); the spend has just been refunded, so those bonuses are back:
    left there, cancelling both orders in that sequence minted them (a journey audit: cancel
    A, whose 100 went into B, then B: 31 bonuses from nowhere). Each is a reversal on the
    order that earned it, oldest cancel first, up to what this cancel refunded and what the
    guest has available (the refund before it has locked the guest's row: a second cancel at
    once waits, then counts this one's reversal). Bonuses are not told apart once credited, so
    any write-off still open is settled first, whichever order it came from (with every order
    cancelled, in any sequence, the guest ends where they began: a property test holds it).
    Only orders completed after the guest's latest emptying `burn` are owed anything: the
    burn settled the ones before it (see `_settled_by_burn`), this order among them if it
    were one.
    """
    taken = (
        select(LedgerEntry.order_client_id, LedgerEntry.order_id,
               func.sum(LedgerEntry.amount).label("taken"))
        .where(LedgerEntry.guest_id == row.guest_id, LedgerEntry.kind == "reversal")
        .group_by(LedgerEntry.order_client_id, LedgerEntry.order_id)
        .subquery()
    )  # fmt: skip
    open_write_off = Order.accrual + func.coalesce(taken.c.taken, 0)
    owing = (
        select(Order.client_id, Order.id, Order.rules_version, open_write_off)
        .outerjoin(taken, (taken.c.order_client_id == Order.client_id)
                   & (taken.c.order_id == Order.id))
        .where(Order.guest_id == row.guest_id, Order.status == "cancelled",
               Order.completed_at.is_not(None), open_write_off > 0)
        .order_by(Order.cancelled_at, Order.id, Order.client_id)
    )  # fmt: skip
    if burn is not None:
        owing = owing.where(completion_entry(Order.client_id, Order.id) > burn)
    owed = session.execute(owing).all()
    if not owed:
        return 0
    guest = session.get(Guest, row.guest_id, populate_existing=True)
    left, available, recovered = row.redeemed, guest.balance - guest.held, 0
    for client_id, order_id, rules_version, written_off in owed:
        amount = min(int(written_off), left, available)  # PostgreSQL sums bigints as numeric
        if amount <= 0:
            break
        moved = ledger.move(
            session, row.guest_id, lifecycle.RECOVERED, amount, actor=actor, now=now,
            order_client_id=client_id, order_id=order_id, rules_version=rules_version,
            reason=reason("reversal.recovered", order_id, money(amount), by=row.id),
        )  # fmt: skip
        if moved is None:  # the balance moved under us: what is left stays written off
            break
        left, available, recovered = left - amount, moved.balance - moved.held, recovered + amount
    return recovered


def _held_elsewhere(row: Order, held: int) -> Conflict:
    """What the order earned is partly held by the guest's open orders: neither spent (to
    write off) nor available (to take back). Writing it off let the guest keep it when those
    orders were cancelled; the cancel waits for them instead."""
    return Conflict(
        f"Order {row.id!r}: {money(held)} of the {money(row.accrual)} bonuses it earned are "
        "held by the guest's open orders. Cancel it once they are completed or cancelled: "
        "what they spend is then written off, what they release is taken back.",
        facts={"held": f"{money(held)}", "status_now": row.status},
    )


def release_stale_holds(session: Session, now: datetime, limit: int = 500) -> int:
    """Release the holds of placed orders left neither completed nor cancelled in time."""
    rows = session.scalars(
        select(Order)
        .where(Order.status == "placed", Order.hold_expires_at <= now)
        .order_by(Order.hold_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    released = 0
    for row in rows:
        for kind, amount in lifecycle.moves(row, "placed", "expired"):
            _move(session, row, kind, amount, "hold-timer", now, f"{kind}.timer")
        row.status = "expired"
        released += 1
    return released
